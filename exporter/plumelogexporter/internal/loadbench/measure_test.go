package loadbench

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter"
	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/metadata"
	"github.com/plumelog-otel/otelcol-plumelog/internal/otelcoltest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/plumelogtest"
)

// key is the list every scenario writes to; scenarios run one after another.
const key = "plume_log_list"

const (
	latencyMetric = "otelcol_plumelog_exporter_delivery_latency"
	batchMetric   = "otelcol_plumelog_exporter_batch_size"
	sentMetric    = "otelcol_plumelog_exporter_records_sent"
	flushMetric   = "otelcol_plumelog_exporter_flushes"
	droppedMetric = "otelcol_plumelog_exporter_records_dropped"
)

// instance is one factory-created exporter with a meter provider of its own.
type instance struct {
	exp    exporter.Logs
	reader *sdkmetric.ManualReader
	meters *sdkmetric.MeterProvider
}

// startExporter creates the exporter through its factory, as a collector does, with the
// settings over its defaults. Its traces go nowhere, as in a collector without a traces
// pipeline for its own telemetry (a span recorder would keep every request's span and grow
// the heap). With fineLatency, the delivery latency is aggregated into a fine exponential
// histogram instead of the declared buckets, so that its quantiles can be read to well under
// 1 %; that costs more per record than the declared buckets, so throughput runs go without it.
func startExporter(t testing.TB, fineLatency bool, settings otelcoltest.Settings) *instance {
	t.Helper()
	factory := plumelogexporter.NewFactory()
	cfg := factory.CreateDefaultConfig()
	require.NoError(t, settings.Decode(cfg))
	require.NoError(t, confmap.Validate(cfg))
	reader := sdkmetric.NewManualReader()
	opts := []sdkmetric.Option{sdkmetric.WithReader(reader)}
	if fineLatency {
		opts = append(opts, sdkmetric.WithView(sdkmetric.NewView(
			sdkmetric.Instrument{Name: latencyMetric},
			sdkmetric.Stream{Aggregation: sdkmetric.AggregationBase2ExponentialHistogram{MaxSize: 4096, MaxScale: 20}},
		)))
	}
	meters := sdkmetric.NewMeterProvider(opts...)
	set := exportertest.NewNopSettings(metadata.Type)
	set.ID = component.NewID(metadata.Type)
	set.MeterProvider = meters
	exp, err := factory.CreateLogs(context.Background(), set, cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	return &instance{exp: exp, reader: reader, meters: meters}
}

func (in *instance) shutdown(t testing.TB) {
	t.Helper()
	require.NoError(t, in.exp.Shutdown(context.Background()))
	require.NoError(t, in.meters.Shutdown(context.Background()))
}

// metric collects the exporter's metrics and returns the one named, if it was recorded.
func (in *instance) metric(t testing.TB, name string) (metricdata.Metrics, bool) {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, in.reader.Collect(context.Background(), &rm))
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == name {
				return m, true
			}
		}
	}
	return metricdata.Metrics{}, false
}

// sums returns a counter's values keyed by the value of the attribute key, summed over its
// other attributes (such as signal); with key "", the total under "".
func (in *instance) sums(t testing.TB, name, key string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	m, ok := in.metric(t, name)
	if !ok {
		return out // not recorded yet
	}
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		v, _ := dp.Attributes.Value(attribute.Key(key))
		out[v.String()] += dp.Value
	}
	return out
}

func (in *instance) sent(t testing.TB) int64 { return in.sums(t, sentMetric, "")[""] }

func (in *instance) batchSizes(t testing.TB) metricdata.HistogramDataPoint[int64] {
	t.Helper()
	m, ok := in.metric(t, batchMetric)
	require.True(t, ok, "no batch was sent")
	return m.Data.(metricdata.Histogram[int64]).DataPoints[0]
}

// waitSum is the delivery wait summed over records, in seconds.
func (in *instance) waitSum(t testing.TB) float64 {
	t.Helper()
	m, ok := in.metric(t, "otelcol_plumelog_exporter_delivery_wait")
	require.True(t, ok, "no record was delivered")
	return m.Data.(metricdata.Sum[float64]).DataPoints[0].Value
}

func (in *instance) latencies(t testing.TB) metricdata.ExponentialHistogramDataPoint[float64] {
	t.Helper()
	m, ok := in.metric(t, latencyMetric)
	require.True(t, ok, "no record was delivered")
	return m.Data.(metricdata.ExponentialHistogram[float64]).DataPoints[0]
}

// waitSent waits until Redis acknowledged n records in all.
func (in *instance) waitSent(t testing.TB, n int64, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for in.sent(t) < n {
		require.True(t, time.Now().Before(deadline), "%d of %d records acknowledged after %s", in.sent(t), n, timeout)
		time.Sleep(10 * time.Millisecond)
	}
}

// quantile returns the q-quantile of an exponential histogram of positive values: the
// geometric middle of the bucket where it falls, within the recorded minimum and maximum.
func quantile(dp metricdata.ExponentialHistogramDataPoint[float64], q float64) float64 {
	rank := q * float64(dp.Count)
	seen := float64(dp.ZeroCount)
	if rank <= seen {
		return 0
	}
	lo, _ := dp.Min.Value()
	hi, _ := dp.Max.Value()
	// Bucket index i holds the values in (base^i, base^(i+1)].
	base := math.Exp2(math.Exp2(-float64(dp.Scale)))
	for i, c := range dp.PositiveBucket.Counts {
		seen += float64(c)
		if rank <= seen {
			v := math.Pow(base, float64(int(dp.PositiveBucket.Offset)+i)+0.5)
			return min(max(v, lo), hi)
		}
	}
	return hi
}

// appLogs returns one request of n records like those of an instrumented Java service: a
// resource with five attributes, a ~100-byte message, four attributes, trace context.
// Records are numbered from first.
func appLogs(n, first int) plog.Logs {
	return plumelogtest.Logs(first, n,
		plumelogtest.Resource(func(ra pcommon.Map) {
			ra.PutStr("host.name", "order-svc-6f7c9d8b4-q2w7z")
			ra.PutStr("service.version", "2.3.1")
			ra.PutStr("telemetry.sdk.language", "java")
		}),
		plumelogtest.Scope("com.example.order.OrderController"),
		plumelogtest.Body(func(id int) string {
			return "Order " + strconv.Itoa(1_000_000+id) + " accepted for customer c-7731: 2 items, total 84.50 EUR, awaiting payment"
		}),
		plumelogtest.Attributes(func(id int, la pcommon.Map) {
			la.PutStr("code.namespace", "com.example.order.OrderController")
			la.PutStr("code.function", "accept")
			la.PutStr("thread.name", "http-nio-8080-exec-"+strconv.Itoa(id%16))
			la.PutStr("http.route", "/api/orders")
		}),
		plumelogtest.Record(func(id int, lr plog.LogRecord) {
			lr.SetTraceID(pcommon.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, byte(id >> 8), byte(id)})
			lr.SetSpanID(pcommon.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, byte(id >> 8), byte(id)})
		}),
	)
}

// commandCalls returns the calls per command since Redis started, from INFO commandstats.
func commandCalls(t testing.TB, rdb *redis.Client) map[string]int64 {
	t.Helper()
	info, err := rdb.Info(context.Background(), "commandstats").Result()
	require.NoError(t, err)
	calls, err := parseCommandStats(info)
	require.NoError(t, err)
	return calls
}

// parseCommandStats reads lines like "cmdstat_rpush:calls=12,usec=80,...".
func parseCommandStats(info string) (map[string]int64, error) {
	out := map[string]int64{}
	sc := bufio.NewScanner(strings.NewReader(info))
	for sc.Scan() {
		name, fields, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":")
		cmd, isStat := strings.CutPrefix(name, "cmdstat_")
		if !ok || !isStat {
			continue
		}
		for f := range strings.SplitSeq(fields, ",") {
			if v, ok := strings.CutPrefix(f, "calls="); ok {
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", name, err)
				}
				out[cmd] = n
			}
		}
	}
	return out, sc.Err()
}

// commandsBetween counts the commands other than the benchmark's own bookkeeping (INFO,
// UNLINK) that Redis ran between two commandCalls snapshots.
func commandsBetween(before, after map[string]int64) (all, rpush int64) {
	for cmd, n := range after {
		if cmd != "info" && cmd != "unlink" {
			all += n - before[cmd]
		}
	}
	return all, after["rpush"] - before["rpush"]
}

// unlinker empties the list every interval, so that saturation runs do not fill Redis's
// memory; UNLINK frees the elements in a background thread.
func unlinker(t testing.TB, rdb *redis.Client, every time.Duration) (stop func()) {
	t.Helper()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tk := time.NewTicker(every)
		defer tk.Stop()
		for {
			select {
			case <-done:
				return
			case <-tk.C:
				rdb.Unlink(context.Background(), key)
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
		require.NoError(t, rdb.Unlink(context.Background(), key).Err())
	}
}

// redisBenchmark runs redis-benchmark's variadic RPUSH of values, one command holding all
// of them, and returns the values appended per second.
func redisBenchmark(t testing.TB, port string, clients, pipeline, requests int, values []string) float64 {
	t.Helper()
	args := []string{"-h", "127.0.0.1", "-p", port, "-c", strconv.Itoa(clients), "-P", strconv.Itoa(pipeline),
		"-n", strconv.Itoa(requests), "--csv", "RPUSH", key}
	out, err := exec.Command("redis-benchmark", append(args, values...)...).Output()
	require.NoError(t, err)
	rps, err := parseBenchmarkCSV(out)
	require.NoError(t, err)
	return rps * float64(len(values))
}

// parseBenchmarkCSV returns the requests per second of redis-benchmark --csv's one result.
// The first field of the result names the command verbatim, quotes of the values included,
// so the numbers are taken from the end of the line.
func parseBenchmarkCSV(out []byte) (float64, error) {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) == 2 {
		header, err := csv.NewReader(strings.NewReader(lines[0])).Read()
		fields := strings.Split(strings.Trim(strings.TrimSpace(lines[1]), `"`), `","`)
		if err == nil && len(header) > 2 && header[1] == "rps" && len(fields) >= len(header) {
			return strconv.ParseFloat(fields[len(fields)-len(header)+1], 64)
		}
	}
	return 0, fmt.Errorf("unexpected redis-benchmark output %.200q", out)
}

// peakRSS returns the process's peak resident set size in bytes (VmHWM).
func peakRSS() (int64, error) {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/self/status")
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func TestQuantile(t *testing.T) {
	// Scale 0: bucket i holds (2^i, 2^(i+1)].
	dp := metricdata.ExponentialHistogramDataPoint[float64]{
		Count: 10, Scale: 0,
		Min: metricdata.NewExtrema(1.5), Max: metricdata.NewExtrema(7.0),
		PositiveBucket: metricdata.ExponentialBucket{Offset: 0, Counts: []uint64{2, 5, 3}},
	}
	assert.InDelta(t, 1.5, quantile(dp, 0.1), 1e-9, "the middle of (1, 2] is below the minimum")
	assert.InDelta(t, 2*math.Sqrt2, quantile(dp, 0.5), 1e-9)
	assert.InDelta(t, 4*math.Sqrt2, quantile(dp, 0.99), 1e-9)
	dp.Max = metricdata.NewExtrema(5.0)
	assert.InDelta(t, 5.0, quantile(dp, 0.99), 1e-9, "the middle of (4, 8] is above the maximum")
}

func TestParseCommandStats(t *testing.T) {
	calls, err := parseCommandStats("# Commandstats\r\ncmdstat_rpush:calls=1200,usec=345,usec_per_call=0.29,rejected_calls=0,failed_calls=0\r\n" +
		"cmdstat_info:calls=3,usec=100,usec_per_call=33.3,rejected_calls=0,failed_calls=0\r\n")
	require.NoError(t, err)
	assert.Equal(t, map[string]int64{"rpush": 1200, "info": 3}, calls)
	all, rpush := commandsBetween(map[string]int64{"rpush": 200, "info": 1}, calls)
	assert.EqualValues(t, 1000, all)
	assert.EqualValues(t, 1000, rpush)
}

func TestParseBenchmarkCSV(t *testing.T) {
	rps, err := parseBenchmarkCSV([]byte("\"test\",\"rps\",\"avg_latency_ms\"\n\"RPUSH k {\"a\":\"b,c\"} d\",\"18365.47\",\"0.051\"\n"))
	require.NoError(t, err)
	assert.InDelta(t, 18365.47, rps, 1e-9)
	_, err = parseBenchmarkCSV([]byte("ERROR\n"))
	assert.Error(t, err)
}
