package plumelogexporter

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/plumelog-otel/otelcol-plumelog/internal/otelcoltest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/plumelogtest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/redistest"
)

// callerLogs builds the records first to first+n-1 of one caller, which names the service.
func callerLogs(caller, first, n int) plog.Logs {
	return plumelogtest.Logs(first, n, plumelogtest.Service("caller-"+strconv.Itoa(caller)))
}

// callerRecords reads the list and returns, per caller, its record ids in list order.
func callerRecords(t *testing.T, srv *redistest.Server, key string) map[int][]int {
	t.Helper()
	out := map[int][]int{}
	for _, msg := range plumelogtest.Messages(t, redistest.List(t, srv.Client(), key)) {
		caller, err := strconv.Atoi(strings.TrimPrefix(msg["appName"].(string), "caller-"))
		require.NoError(t, err, msg)
		out[caller] = append(out[caller], plumelogtest.ID(t, msg))
	}
	return out
}

// TestConcurrentCallers has many goroutines call ConsumeLogs at once, through a buffer small
// enough that they also wait for room, and checks that every record lands in Redis exactly
// once. With one batch in flight each caller's records also keep their order; with several,
// batches may land in any order.
func TestConcurrentCallers(t *testing.T) {
	const callers, calls = 16, 60
	srv := redistest.Start(t)
	for _, tt := range []struct {
		mode        string
		maxInFlight int
	}{
		{"eager", 1},
		{"strict", 1},
		{"eager", 4},
	} {
		name := fmt.Sprintf("%s, max_in_flight %d", tt.mode, tt.maxInFlight)
		t.Run(name, func(t *testing.T) {
			key := fmt.Sprintf("concurrent_%s_%d", tt.mode, tt.maxInFlight)
			s := startExporter(t, otelcoltest.Settings{
				"endpoint": srv.Addr, "key": key, "mode": tt.mode, "max_in_flight": tt.maxInFlight,
				"batch_size": 50, "flush_interval": "5ms",
				"buffer::max_records": 200, "buffer::block_timeout": "1m",
			})
			sent := make([]int, callers)
			var wg sync.WaitGroup
			for caller := range callers {
				wg.Go(func() {
					for call := range calls {
						count := 1 + (caller+call)%8
						assert.NoError(t, s.exp.ConsumeLogs(context.Background(), callerLogs(caller, sent[caller], count)))
						sent[caller] += count
					}
				})
			}
			wg.Wait()
			require.NoError(t, s.exp.Shutdown(context.Background()))

			total := checkCallers(t, callerRecords(t, srv, key), sent, tt.maxInFlight == 1)
			assert.EqualValues(t, total, s.count(t, "records_sent"))
			assert.Zero(t, s.count(t, "records_dropped"))
		})
	}
}

// checkCallers checks that each caller's records arrived once each, in the order sent when
// ordered, and returns how many arrived.
func checkCallers(t *testing.T, got map[int][]int, sent []int, ordered bool) int {
	t.Helper()
	total := 0
	for caller := range sent {
		records := got[caller]
		total += len(records)
		require.Len(t, records, sent[caller], "caller %d", caller)
		if ordered {
			for i, n := range records {
				require.Equal(t, i, n, "caller %d: one batch in flight keeps each caller's order", caller)
			}
			continue
		}
		seen := make([]bool, sent[caller])
		for _, n := range records {
			require.False(t, seen[n], "caller %d: record %d twice", caller, n)
			seen[n] = true
		}
	}
	return total
}

// TestOrderKeptAcrossRetries makes Redis refuse writes (OOM under maxmemory) while one caller
// keeps sending, then lets them through: with one batch in flight the failed batches are
// retried ahead of newer records, so the list holds every record once, in order.
func TestOrderKeptAcrossRetries(t *testing.T) {
	srv := redistest.Start(t, "--maxmemory-policy", "noeviction")
	rdb := srv.Client()
	ctx := context.Background()
	s := startExporter(t, otelcoltest.Settings{
		"endpoint":                  srv.Addr,
		"max_in_flight":             1,
		"batch_size":                20,
		"max_retries":               1000,
		"backoff::initial_interval": "5ms",
		"backoff::max_interval":     "20ms",
	})
	sent := 0
	send := func(calls int) {
		for range calls {
			require.NoError(t, s.exp.ConsumeLogs(ctx, callerLogs(0, sent, 7)))
			sent += 7
			time.Sleep(time.Millisecond)
		}
	}

	send(20)
	require.NoError(t, rdb.ConfigSet(ctx, "maxmemory", "1").Err())
	send(20)
	require.Eventually(t, func() bool { return s.count(t, "records_retried") > 0 },
		10*time.Second, time.Millisecond, "Redis refuses writes while over maxmemory")
	send(20)
	require.NoError(t, rdb.ConfigSet(ctx, "maxmemory", "0").Err())
	send(20)
	s.waitSent(t, int64(sent))
	require.NoError(t, s.exp.Shutdown(ctx))

	records := callerRecords(t, srv, "plume_log_list")[0]
	require.Len(t, records, sent)
	for i, n := range records {
		require.Equal(t, i, n, "records keep their order across retries")
	}
	assert.Zero(t, s.count(t, "records_dropped"))
}
