package plumelogexporter

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.uber.org/zap/zapcore"

	"github.com/plumelog-otel/otelcol-plumelog/internal/otelcoltest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/plumelogtest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/redistest"
)

// The fault tests inject real faults into a real redis-server and account for every record:
// sent (accepted by ConsumeLogs) = delivered (distinct records in the Redis list) + dropped
// (the exporter's own records_dropped metric).

// faultSettings make backoff short so that the fault tests take seconds; each test sets the
// retry budget it needs.
func faultSettings(s otelcoltest.Settings) otelcoltest.Settings {
	all := otelcoltest.Settings{
		"flush_interval": "50ms", "dial_timeout": "1s",
		"backoff::initial_interval": "50ms", "backoff::max_interval": "400ms",
	}
	maps.Copy(all, s)
	return all
}

// persistentRedis keeps every acknowledged write across a kill -9: the list is counted after
// the restart.
var persistentRedis = []string{"--appendonly", "yes", "--appendfsync", "always"}

// TestFaultRedisKilledWithinRetryBudget kills redis-server while a stream of records flows
// and restarts it before the retry budget runs out: every record sent before, during and
// after the outage is delivered and none is dropped.
//
// A kill can land after Redis made a batch durable but before its reply left; the exporter
// then sends that batch again. So the distinct records delivered are counted exactly, and
// duplicates are bounded by one batch and reported.
func TestFaultRedisKilledWithinRetryBudget(t *testing.T) {
	srv := redistest.Start(t, persistentRedis...)
	const batchSize = 100
	f := startExporter(t, faultSettings(otelcoltest.Settings{
		"endpoint":   srv.Addr,
		"batch_size": batchSize,
		// About 11 s of backoff (50 ms doubling to 400 ms, ±20 %): far longer than the
		// outage, even on a slow machine.
		"max_retries": 30,
	}))

	s := f.stream(20, 5*time.Millisecond)
	time.Sleep(time.Second)
	srv.Stop()
	time.Sleep(1500 * time.Millisecond)
	srv.Restart()
	time.Sleep(time.Second)
	s.stop()
	f.shutdown(t)

	counts := plumelogtest.Delivered(t, srv.Client(), "plume_log_list")
	sent := len(s.accepted)
	require.Positive(t, sent)
	assert.Zero(t, f.dropped(t, ""), "the outage was shorter than the retry budget")
	for _, id := range s.accepted {
		require.Positive(t, counts[id], "record %d was accepted but never delivered", id)
	}
	for _, id := range s.refused {
		require.Zero(t, counts[id], "record %d was refused but delivered", id)
	}
	assert.Len(t, counts, sent, "sent = delivered + dropped")
	dups := plumelogtest.Duplicates(counts)
	assert.LessOrEqual(t, dups, batchSize, "only the batch in flight at the kill may arrive twice")
	assert.Positive(t, f.count(t, "records_retried"), "the outage was felt")
	assertStatusChanges(t, f.host.statuses())
	t.Logf("sent %d (refused %d), delivered %d distinct, %d duplicates, dropped 0, retried %d",
		sent, len(s.refused), len(counts), dups, f.count(t, "records_retried"))
}

// TestFaultRedisDownLongerThanRetryBudget stops Redis for longer than the retry budget: the
// records sent during the outage are dropped and counted, those before and after delivered.
// Redis is killed between batches, so no write is in doubt and the accounting is exact.
func TestFaultRedisDownLongerThanRetryBudget(t *testing.T) {
	srv := redistest.Start(t, persistentRedis...)
	const maxRetries = 3
	f := startExporter(t, faultSettings(otelcoltest.Settings{
		"endpoint":    srv.Addr,
		"max_retries": maxRetries,
	}))
	rdb := srv.Client()

	before := f.send(t, 300)
	redistest.WaitLen(t, rdb, "plume_log_list", before)
	srv.Stop()
	during := 0
	for range 5 {
		during += f.send(t, 40)
	}
	require.Eventually(t, func() bool { return f.dropped(t, "retries_exhausted") == during }, 60*time.Second, 10*time.Millisecond)
	srv.Restart()
	after := f.send(t, 300)
	redistest.WaitLen(t, rdb, "plume_log_list", before+after)
	f.shutdown(t)

	sent := before + during + after
	counts := plumelogtest.Delivered(t, rdb, "plume_log_list")
	assert.Equal(t, sent, len(counts)+f.dropped(t, ""), "sent = delivered + dropped")
	assert.Equal(t, during, f.dropped(t, "retries_exhausted"))
	assert.Zero(t, plumelogtest.Duplicates(counts))
	for id := range counts {
		assert.True(t, id < before || id >= before+during, "record %d was sent during the outage yet delivered", id)
	}
	assert.Equal(t, during*maxRetries, int(f.count(t, "records_retried")),
		"each dropped record was retried max_retries times first")
	var logged int
	for _, e := range f.dropLines() {
		assert.Equal(t, "retries_exhausted", e.ContextMap()["reason"])
		logged += int(e.ContextMap()["records"].(int64))
	}
	assert.Equal(t, during, logged, "every dropped record is logged")
}

// TestFaultRedisPausedLongerThanTimeout pauses writes with CLIENT PAUSE for longer than the
// read timeout. A timed-out RPUSH is retried on a new connection, but Redis may still run the
// first one when the pause ends, so delivery is at least once: every record sent arrives, the
// distinct records delivered equal those sent, and duplicates are reported.
func TestFaultRedisPausedLongerThanTimeout(t *testing.T) {
	srv := redistest.Start(t)
	f := startExporter(t, faultSettings(otelcoltest.Settings{
		"endpoint":      srv.Addr,
		"read_timeout":  "200ms",
		"write_timeout": "200ms",
		"max_retries":   30,
	}))
	rdb := srv.Client()

	s := f.stream(20, 5*time.Millisecond)
	time.Sleep(500 * time.Millisecond)
	require.NoError(t, rdb.Do(context.Background(), "CLIENT", "PAUSE", 2000, "WRITE").Err())
	time.Sleep(3 * time.Second)
	s.stop()
	f.shutdown(t)

	counts := plumelogtest.Delivered(t, rdb, "plume_log_list")
	sent := len(s.accepted)
	assert.Zero(t, f.dropped(t, ""), "the pause was shorter than the retry budget")
	for _, id := range s.accepted {
		require.Positive(t, counts[id], "record %d was accepted but never delivered", id)
	}
	assert.Len(t, counts, sent, "sent = distinct delivered + dropped")
	assert.Positive(t, f.count(t, "records_retried"), "writes timed out during the pause")
	t.Logf("sent %d, delivered %d distinct, %d duplicates from timed-out writes that landed, retried %d",
		sent, len(counts), plumelogtest.Duplicates(counts), f.count(t, "records_retried"))
}

// TestFaultRedisOutOfMemory sets maxmemory below what Redis uses, under the noeviction
// policy: RPUSH fails with OOM, which is retried, then dropped and counted. Once memory is
// available again the exporter delivers.
func TestFaultRedisOutOfMemory(t *testing.T) {
	srv := redistest.Start(t, "--maxmemory-policy", "noeviction")
	const maxRetries = 2
	f := startExporter(t, faultSettings(otelcoltest.Settings{
		"endpoint":    srv.Addr,
		"max_retries": maxRetries,
	}))
	rdb := srv.Client()
	ctx := context.Background()

	before := f.send(t, 200)
	redistest.WaitLen(t, rdb, "plume_log_list", before)
	require.NoError(t, rdb.ConfigSet(ctx, "maxmemory", "1").Err())
	oom := f.send(t, 150)
	require.Eventually(t, func() bool { return f.dropped(t, "retries_exhausted") == oom }, 30*time.Second, 10*time.Millisecond)
	require.NoError(t, rdb.ConfigSet(ctx, "maxmemory", "0").Err())
	after := f.send(t, 200)
	redistest.WaitLen(t, rdb, "plume_log_list", before+after)
	f.shutdown(t)

	counts := plumelogtest.Delivered(t, rdb, "plume_log_list")
	assert.Equal(t, before+oom+after, len(counts)+f.dropped(t, ""), "sent = delivered + dropped")
	assert.Equal(t, oom, f.dropped(t, "retries_exhausted"))
	assert.Zero(t, plumelogtest.Duplicates(counts))
	assert.Equal(t, oom*maxRetries, int(f.count(t, "records_retried")), "OOM is retried")
	lines := f.dropLines()
	require.NotEmpty(t, lines)
	for _, e := range lines {
		assert.Contains(t, e.ContextMap()["error"], "OOM")
	}
	assert.Equal(t, []componentstatus.Status{componentstatus.StatusRecoverableError, componentstatus.StatusOK}, f.host.statuses())
}

// TestFaultWrongTypeDroppedOncePerBatch makes the key a string: every batch fails with
// WRONGTYPE, which retrying cannot fix. Each batch is dropped at once, counted, and logged in
// exactly one line naming the reason and the error.
func TestFaultWrongTypeDroppedOncePerBatch(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	require.NoError(t, srv.Client().Set(ctx, "plume_log_list", "not a list", 0).Err())
	f := startExporter(t, faultSettings(otelcoltest.Settings{
		"endpoint":    srv.Addr,
		"max_retries": 5,
	}))

	const batches, perBatch = 4, 30
	sent := 0
	for range batches {
		sent += f.send(t, perBatch)
		// One request at a time, so that each is one batch.
		require.Eventually(t, func() bool { return f.dropped(t, "permanent_error") == sent }, 30*time.Second, 10*time.Millisecond)
	}
	f.shutdown(t)

	assert.Equal(t, batches*perBatch, sent)
	assert.Equal(t, sent, f.dropped(t, ""), "sent = delivered (0) + dropped")
	assert.Zero(t, f.count(t, "records_retried"), "WRONGTYPE is not retried")
	assert.EqualValues(t, batches, f.count(t, "flushes"))
	lines := f.dropLines()
	require.Len(t, lines, batches, "one log line per batch")
	for _, e := range lines {
		assert.Equal(t, zapcore.ErrorLevel, e.Level)
		fields := e.ContextMap()
		assert.Equal(t, "permanent_error", fields["reason"])
		assert.EqualValues(t, perBatch, fields["records"])
		assert.Contains(t, fields["error"], "WRONGTYPE")
	}
	assert.Equal(t, []componentstatus.Status{componentstatus.StatusRecoverableError}, f.host.statuses())
	typ, err := srv.Client().Type(ctx, "plume_log_list").Result()
	require.NoError(t, err)
	assert.Equal(t, "string", typ, "the key was left alone")
}

// TestFaultNothingListeningAtStart starts the exporter with no Redis at its address: it
// starts, reports a recoverable error once records cannot be delivered, and delivers them
// and reports OK once Redis appears.
func TestFaultNothingListeningAtStart(t *testing.T) {
	srv := redistest.Start(t)
	srv.Stop()
	f := startExporter(t, faultSettings(otelcoltest.Settings{
		"endpoint":    srv.Addr,
		"max_retries": 1000,
	}))
	sent := f.send(t, 25)
	require.Eventually(t, func() bool { return len(f.host.statuses()) == 1 }, 30*time.Second, 10*time.Millisecond)
	ev := f.host.event(0)
	assert.Equal(t, componentstatus.StatusRecoverableError, ev.Status())
	require.Error(t, ev.Err())
	assert.Contains(t, ev.Err().Error(), "connection refused", "the status carries the cause")

	srv.Restart()
	rdb := srv.Client()
	redistest.WaitLen(t, rdb, "plume_log_list", sent)
	f.shutdown(t)
	assert.Equal(t, []componentstatus.Status{componentstatus.StatusRecoverableError, componentstatus.StatusOK}, f.host.statuses())
	assert.Len(t, plumelogtest.Delivered(t, rdb, "plume_log_list"), sent)
	assert.Zero(t, f.dropped(t, ""))
	assert.Len(t, f.logs.FilterMessage("Redis takes batches again").All(), 1)
}
