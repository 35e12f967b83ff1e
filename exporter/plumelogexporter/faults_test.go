package plumelogexporter

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/metadatatest"
	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/sender"
	"github.com/plumelog-otel/otelcol-plumelog/internal/plumelogtest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/redistest"
)

// The fault tests inject real faults into a real redis-server and account for every record:
// sent (accepted by ConsumeLogs) = delivered (distinct records in the Redis list) + dropped
// (the exporter's own records_dropped metric).

// statusHost is a collector host that records the component status the exporter reports.
type statusHost struct {
	mu     sync.Mutex
	events []*componentstatus.Event
}

var _ componentstatus.Reporter = (*statusHost)(nil)

func (*statusHost) GetExtensions() map[component.ID]component.Component { return nil }

func (h *statusHost) Report(ev *componentstatus.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, ev)
}

func (h *statusHost) event(i int) *componentstatus.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.events[i]
}

func (h *statusHost) statuses() []componentstatus.Status {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]componentstatus.Status, len(h.events))
	for i, ev := range h.events {
		out[i] = ev.Status()
	}
	return out
}

type faultExporter struct {
	exp       exporter.Logs
	telemetry *componenttest.Telemetry
	logs      *observer.ObservedLogs
	host      *statusHost
	next      int // id of the next record to send
}

// startFaultExporter starts an exporter whose logs and status reports the test can read.
// Backoff is short so that the tests take seconds; each test sets the retry budget it needs.
func startFaultExporter(t *testing.T, mutate func(*Config)) *faultExporter {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	cfg.Batching.FlushInterval = 50 * time.Millisecond
	cfg.Redis.DialTimeout = time.Second
	cfg.Batching.Backoff.InitialInterval = 50 * time.Millisecond
	cfg.Batching.Backoff.MaxInterval = 400 * time.Millisecond
	mutate(cfg)
	return startFaultExporterConfig(t, cfg)
}

// startFaultExporterConfig starts an exporter with cfg, created through the factory as a
// collector does, whose logs and status reports the test can read.
func startFaultExporterConfig(t *testing.T, cfg component.Config) *faultExporter {
	t.Helper()
	require.NoError(t, confmap.Validate(cfg))
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	core, logs := observer.New(zapcore.DebugLevel)
	set := metadatatest.NewSettings(tel)
	set.Logger = zap.New(core)
	exp, err := NewFactory().CreateLogs(context.Background(), set, cfg)
	require.NoError(t, err)
	f := &faultExporter{exp: exp, telemetry: tel, logs: logs, host: &statusHost{}}
	require.NoError(t, exp.Start(context.Background(), f.host))
	return f
}

// numberedLogs builds n records with ids from, in attribute "id".
func numberedLogs(from, n int) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "fault-test")
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	now := pcommon.NewTimestampFromTime(time.Now())
	for i := from; i < from+n; i++ {
		lr := lrs.AppendEmpty()
		lr.SetTimestamp(now)
		lr.Body().SetStr("record " + strconv.Itoa(i))
		lr.Attributes().PutInt("id", int64(i))
	}
	return ld
}

// send offers n new records and returns how many the exporter accepted (n or 0).
func (f *faultExporter) send(t *testing.T, n int) int {
	t.Helper()
	from := f.next
	f.next += n
	if err := f.exp.ConsumeLogs(context.Background(), numberedLogs(from, n)); err != nil {
		// A refused request is the pipeline's to retry; it never entered the exporter.
		return 0
	}
	return n
}

// streaming sends perCall records every interval from its own goroutine until stop.
type streaming struct {
	stopc chan struct{}
	done  chan struct{}
	// Read after stop: ids of the records the exporter accepted and refused.
	accepted, refused []int
}

func (f *faultExporter) stream(perCall int, interval time.Duration) *streaming {
	s := &streaming{stopc: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			from := f.next
			f.next += perCall
			ids := make([]int, perCall)
			for i := range ids {
				ids[i] = from + i
			}
			if f.exp.ConsumeLogs(context.Background(), numberedLogs(from, perCall)) == nil {
				s.accepted = append(s.accepted, ids...)
			} else {
				s.refused = append(s.refused, ids...)
			}
			select {
			case <-s.stopc:
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

func (s *streaming) stop() {
	close(s.stopc)
	<-s.done
}

// delivered reads the whole list, checks every element against the wire contract, and
// returns how often each id arrived.
func delivered(t *testing.T, rdb redis.Cmdable) map[int]int {
	t.Helper()
	elements, err := rdb.LRange(context.Background(), "plume_log_list", 0, -1).Result()
	require.NoError(t, err)
	counts := map[int]int{}
	for _, e := range elements {
		msg, err := plumelogtest.CheckRunLog([]byte(e))
		require.NoError(t, err, e)
		id, err := strconv.Atoi(msg["id"].(string))
		require.NoError(t, err, e)
		counts[id]++
	}
	return counts
}

// duplicates is the number of elements beyond the first of each id.
func duplicates(counts map[int]int) int {
	n := 0
	for _, c := range counts {
		n += c - 1
	}
	return n
}

func (f *faultExporter) dropped(t *testing.T, reason string) int {
	t.Helper()
	if reason == "" {
		return int(sumValue(t, f.telemetry, "records_dropped"))
	}
	return int(sumValue(t, f.telemetry, "records_dropped", attribute.String("reason", reason)))
}

func (f *faultExporter) shutdown(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	require.NoError(t, f.exp.Shutdown(ctx))
}

// dropLines returns the exporter's "Dropped records" log entries.
func (f *faultExporter) dropLines() []observer.LoggedEntry {
	return f.logs.FilterMessage("Dropped records").AllUntimed()
}

// assertStatusChanges checks that the exporter reported an outage and its end, and changes
// only: never the same status twice in a row.
func assertStatusChanges(t *testing.T, statuses []componentstatus.Status) {
	t.Helper()
	require.NotEmpty(t, statuses)
	assert.Equal(t, componentstatus.StatusRecoverableError, statuses[0])
	assert.Equal(t, componentstatus.StatusOK, statuses[len(statuses)-1])
	for i := 1; i < len(statuses); i++ {
		assert.NotEqual(t, statuses[i-1], statuses[i], "status %d repeats: %v", i, statuses)
	}
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
	f := startFaultExporter(t, func(c *Config) {
		c.Redis.Endpoint = sender.Endpoint(srv.Addr)
		c.Batching.BatchSize = batchSize
		// About 11 s of backoff (50 ms doubling to 400 ms, ±20 %): far longer than the
		// outage, even on a slow machine.
		c.Batching.MaxRetries = 30
	})

	s := f.stream(20, 5*time.Millisecond)
	time.Sleep(time.Second)
	srv.Stop()
	time.Sleep(1500 * time.Millisecond)
	srv.Restart()
	time.Sleep(time.Second)
	s.stop()
	f.shutdown(t)

	counts := delivered(t, srv.Client())
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
	dups := duplicates(counts)
	assert.LessOrEqual(t, dups, batchSize, "only the batch in flight at the kill may arrive twice")
	assert.Positive(t, sumValue(t, f.telemetry, "records_retried"), "the outage was felt")
	assertStatusChanges(t, f.host.statuses())
	t.Logf("sent %d (refused %d), delivered %d distinct, %d duplicates, dropped 0, retried %d",
		sent, len(s.refused), len(counts), dups, sumValue(t, f.telemetry, "records_retried"))
}

// TestFaultRedisDownLongerThanRetryBudget stops Redis for longer than the retry budget: the
// records sent during the outage are dropped and counted, those before and after delivered.
// Redis is killed between batches, so no write is in doubt and the accounting is exact.
func TestFaultRedisDownLongerThanRetryBudget(t *testing.T) {
	srv := redistest.Start(t, persistentRedis...)
	const maxRetries = 3
	f := startFaultExporter(t, func(c *Config) {
		c.Redis.Endpoint = sender.Endpoint(srv.Addr)
		c.Batching.MaxRetries = maxRetries
	})
	rdb := srv.Client()
	waitLen := func(n int) {
		require.Eventually(t, func() bool { return rdb.LLen(context.Background(), "plume_log_list").Val() == int64(n) },
			30*time.Second, 10*time.Millisecond)
	}

	before := f.send(t, 300)
	waitLen(before)
	srv.Stop()
	during := 0
	for range 5 {
		during += f.send(t, 40)
	}
	require.Eventually(t, func() bool { return f.dropped(t, "retries_exhausted") == during }, 60*time.Second, 10*time.Millisecond)
	srv.Restart()
	after := f.send(t, 300)
	waitLen(before + after)
	f.shutdown(t)

	sent := before + during + after
	counts := delivered(t, rdb)
	assert.Equal(t, sent, len(counts)+f.dropped(t, ""), "sent = delivered + dropped")
	assert.Equal(t, during, f.dropped(t, "retries_exhausted"))
	assert.Zero(t, duplicates(counts))
	for id := range counts {
		assert.True(t, id < before || id >= before+during, "record %d was sent during the outage yet delivered", id)
	}
	assert.Equal(t, during*maxRetries, int(sumValue(t, f.telemetry, "records_retried")),
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
	f := startFaultExporter(t, func(c *Config) {
		c.Redis.Endpoint = sender.Endpoint(srv.Addr)
		c.Redis.ReadTimeout = 200 * time.Millisecond
		c.Redis.WriteTimeout = 200 * time.Millisecond
		c.Batching.MaxRetries = 30
	})
	rdb := srv.Client()

	s := f.stream(20, 5*time.Millisecond)
	time.Sleep(500 * time.Millisecond)
	require.NoError(t, rdb.Do(context.Background(), "CLIENT", "PAUSE", 2000, "WRITE").Err())
	time.Sleep(3 * time.Second)
	s.stop()
	f.shutdown(t)

	counts := delivered(t, rdb)
	sent := len(s.accepted)
	assert.Zero(t, f.dropped(t, ""), "the pause was shorter than the retry budget")
	for _, id := range s.accepted {
		require.Positive(t, counts[id], "record %d was accepted but never delivered", id)
	}
	assert.Len(t, counts, sent, "sent = distinct delivered + dropped")
	assert.Positive(t, sumValue(t, f.telemetry, "records_retried"), "writes timed out during the pause")
	t.Logf("sent %d, delivered %d distinct, %d duplicates from timed-out writes that landed, retried %d",
		sent, len(counts), duplicates(counts), sumValue(t, f.telemetry, "records_retried"))
}

// TestFaultRedisOutOfMemory sets maxmemory below what Redis uses, under the noeviction
// policy: RPUSH fails with OOM, which is retried, then dropped and counted. Once memory is
// available again the exporter delivers.
func TestFaultRedisOutOfMemory(t *testing.T) {
	srv := redistest.Start(t, "--maxmemory-policy", "noeviction")
	const maxRetries = 2
	f := startFaultExporter(t, func(c *Config) {
		c.Redis.Endpoint = sender.Endpoint(srv.Addr)
		c.Batching.MaxRetries = maxRetries
	})
	rdb := srv.Client()
	ctx := context.Background()
	waitLen := func(n int) {
		require.Eventually(t, func() bool { return rdb.LLen(ctx, "plume_log_list").Val() == int64(n) },
			30*time.Second, 10*time.Millisecond)
	}

	before := f.send(t, 200)
	waitLen(before)
	require.NoError(t, rdb.ConfigSet(ctx, "maxmemory", "1").Err())
	oom := f.send(t, 150)
	require.Eventually(t, func() bool { return f.dropped(t, "retries_exhausted") == oom }, 30*time.Second, 10*time.Millisecond)
	require.NoError(t, rdb.ConfigSet(ctx, "maxmemory", "0").Err())
	after := f.send(t, 200)
	waitLen(before + after)
	f.shutdown(t)

	counts := delivered(t, rdb)
	assert.Equal(t, before+oom+after, len(counts)+f.dropped(t, ""), "sent = delivered + dropped")
	assert.Equal(t, oom, f.dropped(t, "retries_exhausted"))
	assert.Zero(t, duplicates(counts))
	assert.Equal(t, oom*maxRetries, int(sumValue(t, f.telemetry, "records_retried")), "OOM is retried")
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
	f := startFaultExporter(t, func(c *Config) {
		c.Redis.Endpoint = sender.Endpoint(srv.Addr)
		c.Batching.MaxRetries = 5
	})

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
	assert.Zero(t, sumValue(t, f.telemetry, "records_retried"), "WRONGTYPE is not retried")
	assert.EqualValues(t, batches, sumValue(t, f.telemetry, "flushes"))
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
	f := startFaultExporter(t, func(c *Config) {
		c.Redis.Endpoint = sender.Endpoint(srv.Addr)
		c.Batching.MaxRetries = 1000
	})
	sent := f.send(t, 25)
	require.Eventually(t, func() bool { return len(f.host.statuses()) == 1 }, 30*time.Second, 10*time.Millisecond)
	ev := f.host.event(0)
	assert.Equal(t, componentstatus.StatusRecoverableError, ev.Status())
	require.Error(t, ev.Err())
	assert.Contains(t, ev.Err().Error(), "connection refused", "the status carries the cause")

	srv.Restart()
	rdb := srv.Client()
	require.Eventually(t, func() bool { return rdb.LLen(context.Background(), "plume_log_list").Val() == int64(sent) },
		30*time.Second, 10*time.Millisecond)
	f.shutdown(t)
	assert.Equal(t, []componentstatus.Status{componentstatus.StatusRecoverableError, componentstatus.StatusOK}, f.host.statuses())
	assert.Len(t, delivered(t, rdb), sent)
	assert.Zero(t, f.dropped(t, ""))
	assert.Len(t, f.logs.FilterMessage("Redis takes batches again").All(), 1)
}
