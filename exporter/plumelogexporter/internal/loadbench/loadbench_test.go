package loadbench

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plumelog-otel/otelcol-plumelog/internal/otelcoltest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/redistest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/testenv"
)

var outDir = flag.String("loadbench.out", "", "directory for the results; the load benchmarks run only when it is set")

// The setting of the document this project grew from, whose claimed figures (a Python
// Plumelog handler) the latency table reproduces.
const (
	batchSize     = 100
	flushInterval = 5 * time.Second
)

var claimed = []claim{{Rate: 10, MeanS: 2.5}, {Rate: 100, MeanS: 0.5}, {Rate: 1000, MeanS: 0.1}}

// Each offered load runs long enough for hundreds of samples at 10 logs/s and tens of
// thousands at 1000 logs/s.
var loads = []struct {
	rate     int
	duration time.Duration
}{{10, 30 * time.Second}, {100, 20 * time.Second}, {1000, 20 * time.Second}}

// noLinger is max_linger 0: eager mode as it was before max_linger, next to the default, so
// that one run shows what lingering under load costs at these rates.
var noLinger time.Duration

var modes = []modeSpec{
	{Name: "strict", Label: "strict", Mode: "strict"},
	{Name: "eager", Label: "eager (default)", Mode: "eager"},
	{Name: "eager, max_linger 0", Label: "eager, `max_linger: 0`", Mode: "eager", MaxLinger: &noLinger},
	{Name: "eager, min_linger 5ms", Label: "eager, `min_linger: 5ms`", Mode: "eager", MinLinger: 5 * time.Millisecond},
}

type modeSpec struct {
	Name      string        `json:"name"`
	Label     string        `json:"-"`
	Mode      string        `json:"mode"`
	MinLinger time.Duration `json:"min_linger_ns"`
	// MaxLinger is the exporter's default when nil.
	MaxLinger *time.Duration `json:"max_linger_ns,omitempty"`
}

type claim struct {
	Rate  int     `json:"rate"`
	MeanS float64 `json:"mean_s"`
}

type latencyResult struct {
	Mode    modeSpec `json:"mode"`
	Rate    int      `json:"rate"`
	Records int      `json:"records"`
	// AchievedRate is the records per second the paced producer actually offered.
	AchievedRate float64 `json:"achieved_rate"`
	MeanS        float64 `json:"mean_s"`
	P50S         float64 `json:"p50_s"`
	P99S         float64 `json:"p99_s"`
	MaxS         float64 `json:"max_s"`
	// TheoryS is the strict dual trigger's expected mean: half the time a batch takes to
	// fill, capped by the flush interval.
	TheoryS       float64          `json:"theory_s"`
	AvgBatch      float64          `json:"avg_batch"`
	Flushes       map[string]int64 `json:"flushes"`
	RPushPerS     float64          `json:"rpush_per_s"`
	CommandsPerS  float64          `json:"commands_per_s"`
	ConsumeMeanUS float64          `json:"consume_mean_us"`
}

type throughput struct {
	Name string `json:"name"`
	// PerS is records (exporter) or values (redis-benchmark) acknowledged per second, one
	// entry per round.
	PerS     []float64 `json:"per_s"`
	AvgBatch []float64 `json:"avg_batch,omitempty"`
	// Ratios is, per round, PerS over the ceiling measured in the same round.
	Ratios []float64 `json:"ratios"`
}

type saturationResult struct {
	MessageBytes   float64       `json:"message_bytes"`
	Producers      int           `json:"producers"`
	RequestRecords int           `json:"request_records"`
	Window         time.Duration `json:"window_ns"`
	Exporter       []throughput  `json:"exporter"`
	RedisBenchmark []throughput  `json:"redis_benchmark"`
	// Ceiling is, per round, the best values/s of the redis-benchmark runs.
	Ceiling []float64 `json:"ceiling"`
}

type results struct {
	GoVersion      string           `json:"go_version"`
	CPUs           int              `json:"cpus"`
	RedisVersion   string           `json:"redis_version"`
	BatchSize      int              `json:"batch_size"`
	FlushIntervalS float64          `json:"flush_interval_s"`
	Claimed        []claim          `json:"claimed"`
	Latency        []latencyResult  `json:"latency"`
	Saturation     saturationResult `json:"saturation"`
}

func requireOut(t *testing.T) string {
	t.Helper()
	if *outDir == "" {
		t.Skip("a load benchmark: `make bench` runs it with -loadbench.out")
	}
	require.NoError(t, os.MkdirAll(*outDir, 0o755))
	return *outDir
}

// TestLoadBench measures latency at paced offered loads in each mode, then saturation
// throughput next to redis-benchmark, all against one redis-server, and writes
// results.json and results.md.
func TestLoadBench(t *testing.T) {
	dir := requireOut(t)
	testenv.Program(t, "redis-benchmark")
	srv := redistest.Start(t)
	rdb := srv.Client()
	info, err := rdb.Info(context.Background(), "server").Result()
	require.NoError(t, err)

	res := results{
		GoVersion:      runtime.Version(),
		CPUs:           runtime.NumCPU(),
		RedisVersion:   infoField(info, "redis_version"),
		BatchSize:      batchSize,
		FlushIntervalS: flushInterval.Seconds(),
		Claimed:        claimed,
	}
	for _, load := range loads {
		for _, m := range modes {
			r := pacedRun(t, srv, m, load.rate, load.duration)
			t.Logf("%-22s %5d/s: mean %.4fs p50 %.4fs p99 %.4fs batch %.1f, %.0f commands/s",
				m.Name, load.rate, r.MeanS, r.P50S, r.P99S, r.AvgBatch, r.CommandsPerS)
			res.Latency = append(res.Latency, r)
		}
	}
	res.Saturation = saturation(t, srv)

	writeResults(t, dir, "results", res, markdown(res))
}

// writeResults writes res as <name>.json and its table md as <name>.md in dir, and logs md.
func writeResults(t *testing.T, dir, name string, res any, md string) {
	t.Helper()
	data, err := json.MarshalIndent(res, "", "  ")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, name+".json"), data, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, name+".md"), []byte(md), 0o644))
	t.Log("\n" + md)
}

// pacedRun offers rate records per second for d, one record per ConsumeLogs call, to a
// fresh exporter with batch_size 100 and flush_interval 5s, and waits until Redis has
// acknowledged every record.
func pacedRun(t *testing.T, srv *redistest.Server, m modeSpec, rate int, d time.Duration) latencyResult {
	ctx := context.Background()
	rdb := srv.Client()
	require.NoError(t, rdb.Unlink(ctx, key).Err())
	settings := otelcoltest.Settings{
		"endpoint": srv.Addr, "batch_size": batchSize, "flush_interval": flushInterval,
		"mode": m.Mode, "min_linger": m.MinLinger,
	}
	if m.MaxLinger != nil {
		settings["max_linger"] = *m.MaxLinger
	}
	in := startExporter(t, true, settings)
	before := commandCalls(t, rdb)

	n := rate * int(d/time.Second)
	interval := time.Second / time.Duration(rate)
	var inCalls time.Duration
	start := time.Now()
	for i := range n {
		// An open loop: a late call does not delay the ones after it.
		if wait := time.Until(start.Add(time.Duration(i) * interval)); wait > 0 {
			time.Sleep(wait)
		}
		ld := appLogs(1, i)
		called := time.Now()
		require.NoError(t, in.exp.ConsumeLogs(ctx, ld))
		inCalls += time.Since(called)
	}
	offered := time.Since(start)
	in.waitSent(t, int64(n), flushInterval+time.Minute)
	after := commandCalls(t, rdb)

	lat := in.latencies(t)
	batches := in.batchSizes(t)
	flushes := in.sums(t, flushMetric, "trigger")
	waited := in.waitSum(t)
	require.Zero(t, in.sums(t, droppedMetric, "")[""], "nothing is dropped")
	in.shutdown(t)
	require.EqualValues(t, n, rdb.LLen(ctx, key).Val(), "every record is in Redis")

	all, rpush := commandsBetween(before, after)
	window := float64(n) / float64(rate)
	maxS, _ := lat.Max.Value()
	return latencyResult{
		Mode:          m,
		Rate:          rate,
		Records:       n,
		AchievedRate:  float64(n) / offered.Seconds(),
		MeanS:         waited / float64(n),
		P50S:          quantile(lat, 0.50),
		P99S:          quantile(lat, 0.99),
		MaxS:          maxS,
		TheoryS:       min(float64(batchSize)/float64(rate), flushInterval.Seconds()) / 2,
		AvgBatch:      float64(batches.Sum) / float64(batches.Count),
		Flushes:       flushes,
		RPushPerS:     float64(rpush) / window,
		CommandsPerS:  float64(all) / window,
		ConsumeMeanUS: float64(inCalls.Microseconds()) / float64(n),
	}
}

const (
	rounds         = 5
	requestRecords = 100
	warmUp         = time.Second
	window         = 3 * time.Second
)

type exporterSpec struct {
	name        string
	mode        string
	maxInFlight int
	// gomaxprocs, when set, limits the Go scheduler for the run, which leaves Redis a core
	// of its own on a small machine.
	gomaxprocs int
}

var saturationExporters = []exporterSpec{
	{name: "exporter, eager, max_in_flight 1", mode: "eager", maxInFlight: 1},
	{name: "exporter, strict, max_in_flight 1", mode: "strict", maxInFlight: 1},
	{name: "exporter, eager, max_in_flight 4 (default)", mode: "eager", maxInFlight: 4},
	{name: "exporter, eager, max_in_flight 1, GOMAXPROCS 1", mode: "eager", maxInFlight: 1, gomaxprocs: 1},
}

type benchSpec struct {
	name              string
	clients, pipeline int
}

// The best of these in a round is the ceiling: one connection, one command at a time as
// the default exporter sends, as many connections as the fastest exporter setting, and
// redis-benchmark's 50 connections with pipelining.
var redisBenchmarks = []benchSpec{
	{"redis-benchmark -c 1 -P 1", 1, 1},
	{"redis-benchmark -c 4 -P 1", 4, 1},
	{"redis-benchmark -c 50 -P 16", 50, 16},
}

// saturation alternates, round by round, the exporter pushed as hard as producers can and
// redis-benchmark's RPUSH of 100 real messages, so that each ratio compares runs made on
// the same machine minutes apart at most.
func saturation(t *testing.T, srv *redistest.Server) saturationResult {
	values := sampleMessages(t, srv)
	size := 0
	for _, v := range values {
		size += len(v)
	}
	_, port, err := net.SplitHostPort(srv.Addr)
	require.NoError(t, err)

	res := saturationResult{
		MessageBytes:   float64(size) / float64(len(values)),
		Producers:      2 * runtime.GOMAXPROCS(0),
		RequestRecords: requestRecords,
		Window:         window,
		Exporter:       make([]throughput, len(saturationExporters)),
		RedisBenchmark: make([]throughput, len(redisBenchmarks)),
	}
	requests := make([]int, len(redisBenchmarks))
	for i := range requests {
		requests[i] = 20_000
	}
	rdb := srv.Client()
	for round := range rounds {
		for i, spec := range saturationExporters {
			perS, batch := saturationRun(t, srv, spec, res.Producers)
			res.Exporter[i].Name = spec.name
			res.Exporter[i].PerS = append(res.Exporter[i].PerS, perS)
			res.Exporter[i].AvgBatch = append(res.Exporter[i].AvgBatch, batch)
			t.Logf("round %d: %s: %.0f records/s, batch %.1f", round+1, spec.name, perS, batch)
		}
		for i, spec := range redisBenchmarks {
			stop := unlinker(t, rdb, 100*time.Millisecond)
			started := time.Now()
			perS := redisBenchmark(t, port, spec.clients, spec.pipeline, requests[i], values)
			stop()
			// Later rounds run about as long as the window.
			requests[i] = max(1000, int(perS/float64(len(values))*window.Seconds()))
			res.RedisBenchmark[i].Name = spec.name
			res.RedisBenchmark[i].PerS = append(res.RedisBenchmark[i].PerS, perS)
			t.Logf("round %d: %s: %.0f values/s (%s)", round+1, spec.name, perS, time.Since(started).Round(time.Millisecond))
		}
		ceiling := 0.0
		for _, r := range res.RedisBenchmark {
			ceiling = max(ceiling, r.PerS[round])
		}
		res.Ceiling = append(res.Ceiling, ceiling)
		for _, list := range [][]throughput{res.Exporter, res.RedisBenchmark} {
			for i := range list {
				list[i].Ratios = append(list[i].Ratios, list[i].PerS[round]/ceiling)
			}
		}
	}
	return res
}

// sampleMessages returns 100 messages as the exporter writes them, for redis-benchmark to
// push values of the same size.
func sampleMessages(t *testing.T, srv *redistest.Server) []string {
	ctx := context.Background()
	rdb := srv.Client()
	require.NoError(t, rdb.Unlink(ctx, key).Err())
	in := startExporter(t, false, otelcoltest.Settings{"endpoint": srv.Addr})
	require.NoError(t, in.exp.ConsumeLogs(ctx, appLogs(requestRecords, 0)))
	in.waitSent(t, requestRecords, time.Minute)
	in.shutdown(t)
	values, err := rdb.LRange(ctx, key, 0, -1).Result()
	require.NoError(t, err)
	require.Len(t, values, requestRecords)
	require.NoError(t, rdb.Unlink(ctx, key).Err())
	return values
}

// saturationRun keeps producers calling ConsumeLogs with requests of 100 records, each
// waiting for room in the buffer, and returns the records Redis acknowledged per second
// over the window after a warm-up, with the mean batch size.
func saturationRun(t *testing.T, srv *redistest.Server, spec exporterSpec, producers int) (perS, avgBatch float64) {
	if spec.gomaxprocs > 0 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(spec.gomaxprocs))
	}
	stop := unlinker(t, srv.Client(), 100*time.Millisecond)
	defer stop()
	in := startExporter(t, false, otelcoltest.Settings{
		"endpoint": srv.Addr, "batch_size": batchSize, "flush_interval": flushInterval,
		"mode": spec.mode, "max_in_flight": spec.maxInFlight, "buffer::block_timeout": "1m",
	})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var failed atomic.Value
	for p := range producers {
		wg.Go(func() {
			ld := appLogs(requestRecords, p*requestRecords)
			for ctx.Err() == nil {
				if err := in.exp.ConsumeLogs(ctx, ld); err != nil && ctx.Err() == nil {
					failed.Store(err)
					return
				}
			}
		})
	}
	time.Sleep(warmUp)
	sent0, batches0, t0 := in.sent(t), in.batchSizes(t), time.Now()
	time.Sleep(window)
	sent1, batches1, t1 := in.sent(t), in.batchSizes(t), time.Now()
	cancel()
	wg.Wait()
	in.shutdown(t)
	if err, ok := failed.Load().(error); ok && !errors.Is(err, context.Canceled) {
		require.NoError(t, err)
	}
	return float64(sent1-sent0) / t1.Sub(t0).Seconds(),
		float64(batches1.Sum-batches0.Sum) / float64(batches1.Count-batches0.Count)
}

func infoField(info, name string) string {
	for line := range strings.SplitSeq(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			return v
		}
	}
	return ""
}
