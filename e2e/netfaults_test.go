package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plumelog-otel/otelcol-plumelog/internal/faulttest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/otelcoltest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/plumelogtest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/redistest"
)

// TestCollectorThroughBlackHole streams records through the built collector to a Redis behind
// a proxy that, for a while, swallows all traffic both ways without closing a connection. The
// health check reports the exporter in a recoverable error while the black hole lasts and OK
// once batches flow again; every acknowledged record is delivered, none is dropped, and the
// duplicates (a batch whose command ran but whose reply was swallowed) are counted.
func TestCollectorThroughBlackHole(t *testing.T) {
	const batchSize = 100
	srv := redistest.Start(t)
	proxy := faulttest.Start(t, srv.Addr)
	col := startCollectorWith(t, otelcoltest.Config{ComponentHealth: true, Exporter: otelcoltest.Settings{
		"endpoint":      proxy.Addr,
		"batch_size":    batchSize,
		"dial_timeout":  "500ms",
		"read_timeout":  "500ms",
		"write_timeout": "500ms",
		"max_retries":   30,
		"backoff":       map[string]any{"initial_interval": "50ms", "max_interval": "400ms"},
	}})

	s := &streamer{client: newSDKClient(t, col.GRPC, false), perCall: 20, interval: 10 * time.Millisecond}
	s.start()
	s.waitAcked(t, 1000)
	proxy.AddBoth("blackhole", faulttest.BlackHole())
	start := time.Now()
	// A recoverable error makes the collector unhealthy.
	h := col.waitExporterHealth(t, "StatusRecoverableError", http.StatusInternalServerError)
	unhealthyAfter := time.Since(start)
	assert.Contains(t, h.err, "i/o timeout")
	time.Sleep(3*time.Second - unhealthyAfter)
	proxy.RemoveBoth("blackhole")
	healed := time.Now()
	col.waitExporterHealth(t, "StatusOK", http.StatusOK)
	healthyAfter := time.Since(healed)
	s.waitAcked(t, s.acknowledged()+1000)
	sent := s.wait()
	dropped := col.scrape(t, "otelcol_plumelog_exporter_records_dropped")
	require.NoError(t, col.Stop())

	counts := plumelogtest.Delivered(t, srv.Client(), "plume_log_list")
	for id := range sent {
		require.Positive(t, counts[id], "record %d was acknowledged but never delivered", id)
	}
	assert.Len(t, counts, sent, "sent = delivered, nothing else")
	assert.Zero(t, dropped)
	dups := plumelogtest.Duplicates(counts)
	assert.LessOrEqual(t, dups, batchSize, "only the batch in flight when the black hole began may arrive twice")
	t.Logf("through the collector, a 3s black hole: sent %d, delivered %d distinct, %d duplicates, dropped 0; "+
		"health check unhealthy %s after it began, healthy %s after it ended",
		sent, len(counts), dups, unhealthyAfter.Round(10*time.Millisecond), healthyAfter.Round(10*time.Millisecond))
}
