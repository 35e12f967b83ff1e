package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plumelog-otel/otelcol-plumelog/internal/otelcoltest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/plumelogtest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/redistest"
)

// exporterHealth is what the health_check extension says about the plumelog exporter.
type exporterHealth struct {
	code   int    // HTTP status of the whole collector's health
	status string // the exporter's component status, e.g. StatusRecoverableError
	err    string
}

func (c *collector) exporterHealth(t *testing.T) exporterHealth {
	t.Helper()
	resp, err := http.Get(c.Health + "?verbose")
	require.NoError(t, err)
	defer resp.Body.Close()
	var body map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	h := exporterHealth{code: resp.StatusCode}
	// The exporter appears under each pipeline that uses it; the logs pipeline's is the one
	// the tests send through: components → pipeline:logs → components → exporter:plumelog.
	exp := body
	for _, key := range []string{"components", "pipeline:logs", "components", "exporter:plumelog"} {
		exp, _ = exp[key].(map[string]any)
	}
	h.status, _ = exp["status"].(string)
	h.err, _ = exp["error"].(string)
	return h
}

// waitExporterHealth polls the health check until the exporter is in status and the whole
// collector answers code, and returns that answer. Both are waited for: the health check
// counts a recoverable error as unhealthy only once it has lasted recovery_duration, so a
// poll in the first moments of an error can see the status before the code follows it.
func (c *collector) waitExporterHealth(t *testing.T, status string, code int) exporterHealth {
	t.Helper()
	var h exporterHealth
	require.Eventually(t, func() bool {
		h = c.exporterHealth(t)
		return h.status == status && h.code == code
	}, time.Minute, 50*time.Millisecond, "exporter %s with HTTP %d", status, code)
	return h
}

// TestCollectorStartsWithoutRedis starts the collector with nothing listening at the Redis
// address. It starts; once records cannot be delivered the health check reports the exporter
// in a recoverable error; once Redis appears the records are delivered and it reports OK.
func TestCollectorStartsWithoutRedis(t *testing.T) {
	srv := redistest.Start(t)
	srv.Stop()
	col := startCollectorWith(t, otelcoltest.Config{ComponentHealth: true, Exporter: otelcoltest.Settings{
		"endpoint": srv.Addr, "dial_timeout": "1s", "max_retries": 1000,
		"backoff::initial_interval": "100ms", "backoff::max_interval": "500ms",
	}})
	assert.Equal(t, http.StatusOK, col.exporterHealth(t).code, "healthy before the first send")

	client := newSDKClient(t, col.GRPC, false)
	const sent = 40
	require.NoError(t, client.Export(context.Background(), client.Records(0, sent)), "the exporter buffers while Redis is away")

	// A recoverable error makes the collector unhealthy.
	h := col.waitExporterHealth(t, "StatusRecoverableError", http.StatusInternalServerError)
	assert.Contains(t, h.err, "connection refused")

	srv.Restart()
	var counts map[int]int
	require.Eventually(t, func() bool {
		counts = plumelogtest.Delivered(t, srv.Client(), "plume_log_list")
		return len(counts) == sent
	}, time.Minute, 50*time.Millisecond)
	col.waitExporterHealth(t, "StatusOK", http.StatusOK)
	assert.Equal(t, sent, int(col.scrape(t, "otelcol_plumelog_exporter_records_sent")))
	assert.Zero(t, col.scrape(t, "otelcol_plumelog_exporter_records_dropped"))
	assert.Positive(t, col.scrape(t, "otelcol_plumelog_exporter_records_retried"))
}

// TestSIGTERMFlushesHeldRecords stops the collector with SIGTERM while a stream of records
// flows and the exporter holds records it has not sent yet. The records the collector
// acknowledged are all delivered, or reported undelivered in its log, never neither.
func TestSIGTERMFlushesHeldRecords(t *testing.T) {
	t.Run("redis up", func(t *testing.T) {
		srv := redistest.Start(t)
		// Strict mode with a long flush interval: nothing leaves before shutdown.
		col := startCollector(t, otelcoltest.Settings{
			"endpoint": srv.Addr, "mode": "strict", "batch_size": 100_000, "flush_interval": "1h",
			"buffer::max_records": 200_000,
		})
		s := &streamer{client: newSDKClient(t, col.GRPC, false), perCall: 50, interval: 5 * time.Millisecond, untilRefused: true}
		s.start()
		s.waitAcked(t, 2000)
		rdb := srv.Client()
		require.Zero(t, rdb.LLen(context.Background(), "plume_log_list").Val(), "the exporter holds every record")

		require.NoError(t, col.Terminate())
		sent := s.wait()
		require.NoError(t, col.Wait())

		counts := plumelogtest.Delivered(t, rdb, "plume_log_list")
		undelivered, lines := droppedInLogs(t, col.Output())
		assert.Zero(t, lines, "nothing was dropped")
		assert.Equal(t, sent, len(counts)+undelivered, "sent = delivered + reported undelivered")
		for id := range sent {
			require.Equal(t, 1, counts[id], "record %d", id)
		}
		t.Logf("sent %d, all held at SIGTERM, delivered %d by the shutdown flush", sent, len(counts))
	})

	t.Run("redis refusing", func(t *testing.T) {
		srv := redistest.Start(t, "--maxmemory-policy", "noeviction")
		col := startCollector(t, otelcoltest.Settings{
			"endpoint": srv.Addr, "max_retries": 2,
			"backoff::initial_interval": "50ms", "backoff::max_interval": "100ms",
		})
		s := &streamer{client: newSDKClient(t, col.GRPC, false), perCall: 50, interval: 5 * time.Millisecond, untilRefused: true}
		s.start()
		s.waitAcked(t, 1000)
		rdb := srv.Client()
		// From now on every RPUSH fails with OOM: what the exporter holds at SIGTERM is
		// retried, then dropped and reported.
		require.NoError(t, rdb.ConfigSet(context.Background(), "maxmemory", "1").Err())
		s.waitAcked(t, s.acknowledged()+1000)

		require.NoError(t, col.Terminate())
		sent := s.wait()
		require.NoError(t, col.Wait())

		counts := plumelogtest.Delivered(t, rdb, "plume_log_list")
		undelivered, lines := droppedInLogs(t, col.Output())
		assert.Positive(t, lines)
		assert.Positive(t, undelivered)
		assert.Equal(t, sent, len(counts)+undelivered, "sent = delivered + reported undelivered")
		for id, n := range counts {
			require.Less(t, id, sent)
			require.Equal(t, 1, n, "record %d", id)
		}
		t.Logf("sent %d, delivered %d, reported undelivered %d in %d log lines", sent, len(counts), undelivered, lines)
	})
}

// TestDurableQueueSurvivesSIGKILL runs the exporter with a persistent sending queue on the
// file_storage extension, kills the collector with SIGKILL while records it acknowledged wait
// for a paused Redis, and restarts it on the same storage directory. Every record arrives at
// least once; duplicates (records that were in flight at the kill) are counted and reported.
func TestDurableQueueSurvivesSIGKILL(t *testing.T) {
	srv := redistest.Start(t)
	col := startDurableCollector(t, otelcoltest.Settings{
		"endpoint": srv.Addr, "read_timeout": "500ms", "write_timeout": "500ms", "max_retries": 100,
		"backoff::initial_interval": "50ms", "backoff::max_interval": "500ms",
	})
	rdb := srv.Client()
	ctx := context.Background()

	s := &streamer{client: newSDKClient(t, col.GRPC, true), perCall: 50, interval: 5 * time.Millisecond}
	s.start()
	s.waitAcked(t, 2000)
	// Writes wait while the pause lasts, so acknowledged records pile up in the queue. The
	// pause outlasts any slow step below; CLIENT UNPAUSE ends it.
	require.NoError(t, rdb.Do(ctx, "CLIENT", "PAUSE", 120_000, "WRITE").Err())
	atPause := s.acknowledged()
	s.waitAcked(t, atPause+1000)
	queued := col.scrape(t, "otelcol_exporter_queue_size", `exporter="plumelog"`)
	ackedAtKill := s.acknowledged()
	deliveredAtKill := rdb.LLen(ctx, "plume_log_list").Val()
	require.NoError(t, col.Kill())
	require.Positive(t, queued, "records waited in the persistent queue at the kill")
	require.Less(t, deliveredAtKill, int64(ackedAtKill), "acknowledged records were not delivered yet at the kill")

	require.NoError(t, col.Restart())
	require.NoError(t, rdb.Do(ctx, "CLIENT", "UNPAUSE").Err())
	s.waitAcked(t, ackedAtKill+2000)
	sent := s.wait()

	var counts map[int]int
	require.Eventually(t, func() bool {
		counts = plumelogtest.Delivered(t, rdb, "plume_log_list")
		return len(counts) >= sent
	}, 2*time.Minute, 100*time.Millisecond, "records delivered: %d of %d", len(counts), sent)
	lost := 0
	for id := range sent {
		if counts[id] == 0 {
			lost++
		}
	}
	assert.Zero(t, lost, "no acknowledged record is lost")
	assert.Zero(t, col.scrape(t, "otelcol_plumelog_exporter_records_dropped"))
	t.Logf("sent %d (Export calls %d), acknowledged but undelivered at SIGKILL %d (queue size %v), delivered %d distinct after restart, %d duplicates",
		sent, s.attempts, int64(ackedAtKill)-deliveredAtKill, queued, len(counts), plumelogtest.Duplicates(counts))
}

// TestDurableQueueOutlivesRetryBudget keeps Redis down for far longer than the exporter's
// retries last, stops the collector with SIGTERM during the outage, and starts it again once
// Redis is back: in durable mode records whose retries ran out go back to the persistent
// queue instead of being dropped, and stay on disk across the restart.
func TestDurableQueueOutlivesRetryBudget(t *testing.T) {
	const total = 500
	srv := redistest.Start(t)
	col := startDurableCollector(t, otelcoltest.Settings{
		"endpoint": srv.Addr, "dial_timeout": "100ms", "max_retries": 1,
		"backoff::initial_interval": "20ms", "backoff::max_interval": "100ms",
	})
	// Stopped only now, so that the collector's own ports cannot take Redis's.
	srv.Stop()
	client := newSDKClient(t, col.GRPC, false)
	ctx := context.Background()
	for from := 0; from < total; from += 100 {
		require.NoError(t, client.Export(ctx, client.Records(from, 100)), "the queue on disk acknowledges while Redis is down")
	}
	// Each record's retry budget is a fraction of a second; wait until requests have gone
	// through the exporter and back to the queue several times.
	require.Eventually(t, func() bool {
		return col.scrape(t, "otelcol_plumelog_exporter_records_retried") >= 5*total
	}, time.Minute, 50*time.Millisecond)
	require.NoError(t, col.Stop(), "SIGTERM during the outage")
	dropped, _ := droppedInLogs(t, col.Output())
	assert.Zero(t, dropped, "nothing was dropped before the restart")

	srv.Restart()
	require.NoError(t, col.Restart())
	rdb := srv.Client()
	var counts map[int]int
	require.Eventually(t, func() bool {
		counts = plumelogtest.Delivered(t, rdb, "plume_log_list")
		return len(counts) == total
	}, 2*time.Minute, 100*time.Millisecond, "records delivered after the restart: %d of %d", len(counts), total)
	assert.Zero(t, col.scrape(t, "otelcol_plumelog_exporter_records_dropped"))
	t.Logf("sent %d with Redis down, delivered %d distinct after SIGTERM and restart, %d duplicates", total, len(counts), plumelogtest.Duplicates(counts))
}

// startDurableCollector starts the collector with the plumelog exporter's settings behind a
// persistent sending queue on a file_storage directory of the test's; Restart keeps the
// directory.
func startDurableCollector(t *testing.T, exporter otelcoltest.Settings) *collector {
	t.Helper()
	exporter["sending_queue::storage"] = "file_storage"
	return startCollectorWith(t, otelcoltest.Config{
		Exporter:   exporter,
		Extensions: map[string]otelcoltest.Settings{"file_storage": {"directory": t.TempDir()}},
	})
}
