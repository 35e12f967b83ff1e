package plumelogexporter

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componentstatus"

	"github.com/plumelog-otel/otelcol-plumelog/internal/otelcoltest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/plumelogtest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/redistest"
)

// durable puts the collector's sending queue in front of the exporter, as durable mode does
// (in memory here: what matters is that a request stays in the queue until its records are
// acknowledged), with one consumer so that requests are sent one at a time.
const durable = "sending_queue::num_consumers"

// TestDurableFailedAttemptsAreObservable sends to a Redis that is down, in durable mode with
// no retries in the exporter: every record goes straight back to the sending queue, and each
// failed attempt still shows in records_retried, the component status and the log.
func TestDurableFailedAttemptsAreObservable(t *testing.T) {
	srv := redistest.Start(t)
	srv.Stop()
	f := startExporter(t, faultSettings(otelcoltest.Settings{
		"endpoint":    srv.Addr,
		"max_retries": 0,
		durable:       1,
	}))
	require.Equal(t, 5, f.send(t, 5))
	require.Eventually(t, func() bool { return f.count(t, "records_retried") >= 10 }, 30*time.Second, 10*time.Millisecond,
		"two failed attempts of the 5 records are counted")
	require.Eventually(t, func() bool { return len(f.host.statuses()) > 0 }, 10*time.Second, 10*time.Millisecond)
	assert.Equal(t, componentstatus.StatusRecoverableError, f.host.statuses()[0])
	assert.NotEmpty(t, f.logs.FilterMessageSnippet("Redis refused a batch").All())
	assert.Zero(t, f.dropped(t, ""), "records handed back to the queue are not dropped")

	srv.Restart()
	rdb := srv.Client()
	require.Eventually(t, func() bool { return len(plumelogtest.Delivered(t, rdb, "plume_log_list")) == 5 }, 30*time.Second, 10*time.Millisecond)
	f.shutdown(t)
	assertStatusChanges(t, f.host.statuses())
	assert.Zero(t, plumelogtest.Duplicates(plumelogtest.Delivered(t, rdb, "plume_log_list")))
}

// TestDurableRetriesOnlyUndeliveredRecords sends one request of 10 records that the exporter
// cuts into batches of 4, 4 and 2. Redis refuses the second batch, which holds a record
// larger than its proto-max-bulk-len, until the limit is raised. The sending queue retries
// the 4 records it got back, not the request: every record arrives exactly once.
func TestDurableRetriesOnlyUndeliveredRecords(t *testing.T) {
	srv := redistest.Start(t, "--proto-max-bulk-len", "1mb")
	f := startExporter(t, faultSettings(otelcoltest.Settings{
		"endpoint":    srv.Addr,
		"batch_size":  4,
		"max_retries": 0,
		durable:       1,
	}))
	ld := plumelogtest.Logs(0, 10)
	ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(5).Body().SetStr(strings.Repeat("x", 3<<19))
	require.NoError(t, f.exp.ConsumeLogs(context.Background(), ld))

	rdb := srv.Client()
	// The sending queue logs each request it sends again.
	require.Eventually(t, func() bool { return f.logs.FilterMessageSnippet("Will retry the request").Len() >= 2 }, 30*time.Second, 10*time.Millisecond,
		"the queue sent the request's undelivered part again, and Redis refused it again")
	require.Eventually(t, func() bool { return len(plumelogtest.Delivered(t, rdb, "plume_log_list")) == 6 }, 10*time.Second, 10*time.Millisecond,
		"the other batches were delivered meanwhile")
	require.NoError(t, rdb.ConfigSet(context.Background(), "proto-max-bulk-len", "8mb").Err())
	require.Eventually(t, func() bool { return len(plumelogtest.Delivered(t, rdb, "plume_log_list")) == 10 }, 30*time.Second, 10*time.Millisecond)
	f.shutdown(t)

	counts := plumelogtest.Delivered(t, rdb, "plume_log_list")
	assert.Len(t, counts, 10)
	assert.Zero(t, plumelogtest.Duplicates(counts), "the delivered records of the request were not sent again: %v", counts)
	assert.Zero(t, f.dropped(t, ""))
	assert.GreaterOrEqual(t, f.count(t, "records_retried"), int64(8))
}
