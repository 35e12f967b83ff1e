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
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/batcher"
	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/sender"
	"github.com/plumelog-otel/otelcol-plumelog/internal/plumelogtest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/redistest"
)

// callerLogs builds records n..n+count-1 of one caller, whose content reads "caller-n".
func callerLogs(caller, n, count int) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "caller-"+strconv.Itoa(caller))
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	now := pcommon.NewTimestampFromTime(time.Now())
	for i := n; i < n+count; i++ {
		lr := lrs.AppendEmpty()
		lr.SetTimestamp(now)
		lr.Body().SetStr(fmt.Sprintf("%d-%d", caller, i))
	}
	return ld
}

// callerRecords reads the list and returns, per caller, its record numbers in list order.
func callerRecords(t *testing.T, srv *redistest.Server, key string) map[int][]int {
	t.Helper()
	elements, err := srv.Client().LRange(context.Background(), key, 0, -1).Result()
	require.NoError(t, err)
	out := map[int][]int{}
	for _, e := range elements {
		msg, err := plumelogtest.CheckRunLog([]byte(e))
		require.NoError(t, err, e)
		c, n, ok := strings.Cut(msg["content"].(string), "-")
		require.True(t, ok, e)
		caller, err := strconv.Atoi(c)
		require.NoError(t, err)
		i, err := strconv.Atoi(n)
		require.NoError(t, err)
		out[caller] = append(out[caller], i)
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
			s := startExporter(t, func(c *Config) {
				c.Redis.Endpoint = sender.Endpoint(srv.Addr)
				c.Lists.Key = key
				c.Batching.Mode = batcher.Mode(tt.mode)
				c.Batching.MaxInFlight = tt.maxInFlight
				c.Batching.BatchSize = 50
				c.Batching.FlushInterval = 5 * time.Millisecond
				c.Batching.Buffer.MaxRecords = 200
				c.Batching.Buffer.BlockTimeout = time.Minute
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

			got := callerRecords(t, srv, key)
			total := 0
			for caller := range callers {
				records := got[caller]
				total += len(records)
				require.Len(t, records, sent[caller], "caller %d", caller)
				if tt.maxInFlight == 1 {
					for i, n := range records {
						require.Equal(t, i, n, "caller %d: one batch in flight keeps each caller's order", caller)
					}
				} else {
					seen := make([]bool, sent[caller])
					for _, n := range records {
						require.False(t, seen[n], "caller %d: record %d twice", caller, n)
						seen[n] = true
					}
				}
			}
			assert.EqualValues(t, total, sumValue(t, s.telemetry, "records_sent"))
			assert.Zero(t, sumValue(t, s.telemetry, "records_dropped"))
		})
	}
}

// TestOrderKeptAcrossRetries makes Redis refuse writes (OOM under maxmemory) while one caller
// keeps sending, then lets them through: with one batch in flight the failed batches are
// retried ahead of newer records, so the list holds every record once, in order.
func TestOrderKeptAcrossRetries(t *testing.T) {
	srv := redistest.Start(t, "--maxmemory-policy", "noeviction")
	rdb := srv.Client()
	ctx := context.Background()
	s := startExporter(t, func(c *Config) {
		c.Redis.Endpoint = sender.Endpoint(srv.Addr)
		c.Batching.BatchSize = 20
		c.Batching.MaxRetries = 1000
		c.Batching.Backoff.InitialInterval = 5 * time.Millisecond
		c.Batching.Backoff.MaxInterval = 20 * time.Millisecond
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
	require.Eventually(t, func() bool { return sumValue(t, s.telemetry, "records_retried") > 0 },
		10*time.Second, time.Millisecond, "Redis refuses writes while over maxmemory")
	send(20)
	require.NoError(t, rdb.ConfigSet(ctx, "maxmemory", "0").Err())
	send(20)
	waitSent(t, s, int64(sent))
	require.NoError(t, s.exp.Shutdown(ctx))

	records := callerRecords(t, srv, "plume_log_list")[0]
	require.Len(t, records, sent)
	for i, n := range records {
		require.Equal(t, i, n, "records keep their order across retries")
	}
	assert.Zero(t, sumValue(t, s.telemetry, "records_dropped"))
}
