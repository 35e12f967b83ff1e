// Command soak runs the built collector against a local redis-server it starts, under a load
// it generates with the OTel Go SDK, while a drainer empties the Redis list the way a Plumelog
// server does, and accounts for every record.
//
// With -duration it is a soak test: a steady -rate for the whole duration, sampling the
// collector's resident memory, heap and goroutines every -sample, then printing sent,
// delivered, dropped, peak resident memory, the final goroutine count and the collector's own
// metrics. With -records it measures throughput instead: -records as fast as -concurrency
// senders can push them, -runs times, reporting the median.
//
// -durable puts the exporter's persistent sending queue (file_storage) in front of the
// batcher, so that both modes can be compared. It exits non-zero when a record is lost.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	sdklog "go.opentelemetry.io/otel/sdk/log"

	"github.com/plumelog-otel/otelcol-plumelog/internal/otelcoltest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/plumelogtest"
)

const listKey = "plume_log_list"

type options struct {
	collector   string
	duration    time.Duration
	rate        int
	batch       int
	sample      time.Duration
	poll        time.Duration
	warmup      time.Duration
	records     int
	concurrency int
	runs        int
	durable     bool
	fsync       bool
}

func main() {
	var o options
	flag.StringVar(&o.collector, "collector", "build/otelcol-plumelog/otelcol-plumelog", "the collector binary")
	flag.DurationVar(&o.duration, "duration", 5*time.Minute, "soak: how long to send")
	flag.IntVar(&o.rate, "rate", 5000, "soak: records per second")
	flag.IntVar(&o.batch, "batch", 100, "records per OTLP request")
	flag.DurationVar(&o.sample, "sample", 15*time.Second, "soak: interval between samples")
	flag.DurationVar(&o.poll, "poll", 100*time.Millisecond, "soak: the drainer's polling interval (a Plumelog server's plumelog.interval)")
	flag.DurationVar(&o.warmup, "warmup", time.Minute, "soak: samples before this are warm-up, not held to flatness")
	flag.IntVar(&o.records, "records", 0, "throughput: records per run (replaces the soak)")
	flag.IntVar(&o.concurrency, "concurrency", 4, "throughput: concurrent senders")
	flag.IntVar(&o.runs, "runs", 5, "throughput: runs, each on a fresh collector and Redis")
	flag.BoolVar(&o.durable, "durable", false, "persistent sending queue on file_storage in front of the batcher")
	flag.BoolVar(&o.fsync, "fsync", false, "durable: fsync every write of the queue")
	flag.Parse()

	var err error
	if o.records > 0 {
		err = throughput(o)
	} else {
		err = soak(o)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

// env is a redis-server and a collector sending to it, in a temporary directory.
type env struct {
	dir   string
	redis *exec.Cmd
	rdb   *redis.Client
	col   *otelcoltest.Collector
	pprof string // the collector's pprof extension, host:port
}

func setup(o options) (*env, error) {
	dir, err := os.MkdirTemp("", "plumelog-soak-")
	if err != nil {
		return nil, err
	}
	e := &env{dir: dir}
	if err := e.startRedis(); err != nil {
		e.close()
		return nil, err
	}
	if err := e.startCollector(o); err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}

func (e *env) startRedis() error {
	addr, err := otelcoltest.FreeAddr()
	if err != nil {
		return err
	}
	_, port, _ := net.SplitHostPort(addr)
	e.redis = exec.Command("redis-server", "--port", port, "--bind", "127.0.0.1", "--dir", e.dir,
		"--save", "", "--appendonly", "no", "--logfile", filepath.Join(e.dir, "redis.log"))
	if err := e.redis.Start(); err != nil {
		return fmt.Errorf("starting redis-server (make soak installs it): %w", err)
	}
	e.rdb = redis.NewClient(&redis.Options{Addr: addr})
	return waitFor(20*time.Second, func() bool { return e.rdb.Ping(context.Background()).Err() == nil })
}

func (e *env) startCollector(o options) error {
	var err error
	if e.pprof, err = otelcoltest.FreeAddr(); err != nil {
		return err
	}
	cfg := otelcoltest.Config{
		Exporter:     "    endpoint: " + e.rdb.Options().Addr,
		Extensions:   "\n  pprof:\n    endpoint: " + e.pprof,
		ExtensionIDs: []string{"pprof"},
	}
	if o.durable {
		cfg.Exporter += "\n    sending_queue:\n      storage: file_storage"
		cfg.Extensions += fmt.Sprintf("\n  file_storage:\n    directory: %s\n    fsync: %t", e.dir, o.fsync)
		cfg.ExtensionIDs = append(cfg.ExtensionIDs, "file_storage")
	}
	e.col, err = otelcoltest.Start(o.collector, e.dir, cfg)
	return err
}

func (e *env) close() {
	if e.col != nil {
		_ = e.col.Stop()
	}
	if e.rdb != nil {
		_ = e.rdb.Close()
	}
	if e.redis != nil && e.redis.Process != nil {
		_ = e.redis.Process.Kill()
		_ = e.redis.Wait()
	}
	_ = os.RemoveAll(e.dir)
}

func waitFor(limit time.Duration, ok func() bool) error {
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready within %s", limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

// goroutines reads the collector's goroutine count from its pprof extension.
func (e *env) goroutines() (int, error) {
	resp, err := http.Get("http://" + e.pprof + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil {
		return 0, err
	}
	n, ok := strings.CutPrefix(strings.TrimSpace(line), "goroutine profile: total ")
	if !ok {
		return 0, fmt.Errorf("unexpected goroutine profile %q", line)
	}
	return strconv.Atoi(n)
}

// memory returns the collector's resident and peak resident memory in bytes (VmRSS, VmHWM).
func (e *env) memory() (rss, hwm int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", e.col.Pid()))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(fields[1], 10, 64)
		switch fields[0] {
		case "VmRSS:":
			rss = kb << 10
		case "VmHWM:":
			hwm = kb << 10
		}
	}
	return rss, hwm, sc.Err()
}

// drainer empties the list with LPOP, like a Plumelog server, and accounts for what it takes.
type drainer struct {
	rdb      *redis.Client
	interval time.Duration
	validate bool

	mu        sync.Mutex
	seen      []bool // by id
	delivered int    // distinct ids
	dups      int
	invalid   int
	latencies []time.Duration // from the record's timestamp to its arrival here, ms resolution
	firstErr  error
}

// run pops until ctx ends, then once more until the list is empty.
func (d *drainer) run(ctx context.Context) {
	for {
		n := d.popAll()
		select {
		case <-ctx.Done():
			if n == 0 {
				return
			}
			continue
		default:
		}
		time.Sleep(d.interval)
	}
}

// popAll pops until the list is empty and returns the number of elements taken.
func (d *drainer) popAll() int {
	total := 0
	for {
		vals, err := d.rdb.LPopCount(context.Background(), listKey, 1000).Result()
		if errors.Is(err, redis.Nil) || len(vals) == 0 {
			return total
		}
		if err != nil {
			d.mu.Lock()
			if d.firstErr == nil {
				d.firstErr = err
			}
			d.mu.Unlock()
			return total
		}
		now := time.Now()
		d.account(vals, now)
		total += len(vals)
	}
}

func (d *drainer) account(vals []string, now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, v := range vals {
		if d.validate {
			if _, err := plumelogtest.CheckRunLog([]byte(v)); err != nil {
				d.invalid++
				continue
			}
		}
		id, ok1 := field(v, `"id":"`, '"')
		dt, ok2 := field(v, `"dtTime":`, ',')
		if !ok1 || !ok2 {
			d.invalid++
			continue
		}
		i, _ := strconv.Atoi(id)
		ms, _ := strconv.ParseInt(dt, 10, 64)
		for len(d.seen) <= i {
			d.seen = append(d.seen, make([]bool, 1<<16)...)
		}
		if d.seen[i] {
			d.dups++
			continue
		}
		d.seen[i] = true
		d.delivered++
		d.latencies = append(d.latencies, now.Sub(time.UnixMilli(ms)))
	}
}

// field returns the text after prefix up to end, read straight from the JSON element: the
// drainer must not be the bottleneck of a throughput run.
func field(s, prefix string, end byte) (string, bool) {
	i := strings.Index(s, prefix)
	if i < 0 {
		return "", false
	}
	s = s[i+len(prefix):]
	j := strings.IndexByte(s, end)
	if j < 0 {
		return "", false
	}
	return s[:j], true
}

func (d *drainer) counts() (delivered, dups, invalid int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.delivered, d.dups, d.invalid
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

type sample struct {
	at          time.Duration
	rss, heap   int64
	sys         int64 // memory the Go runtime holds from the OS
	goroutines  int
	queue, list int64
	redisMem    int64
}

func (e *env) takeSample(start time.Time) (sample, error) {
	s := sample{at: time.Since(start).Round(time.Second)}
	var err error
	if s.rss, _, err = e.memory(); err != nil {
		return s, err
	}
	if s.goroutines, err = e.goroutines(); err != nil {
		return s, err
	}
	m, err := e.col.Scrape()
	if err != nil {
		return s, err
	}
	s.heap = int64(otelcoltest.Sum(m, "otelcol_process_runtime_heap_alloc_bytes"))
	s.sys = int64(otelcoltest.Sum(m, "otelcol_process_runtime_total_sys_memory_bytes"))
	s.queue = int64(otelcoltest.Sum(m, "otelcol_plumelog_exporter_buffer_records"))
	s.list = e.rdb.LLen(context.Background(), listKey).Val()
	info := e.rdb.InfoMap(context.Background(), "memory").Item("Memory", "used_memory")
	s.redisMem, _ = strconv.ParseInt(info, 10, 64)
	return s, nil
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func soak(o options) error {
	e, err := setup(o)
	if err != nil {
		return err
	}
	defer e.close()
	// Without retries a request the collector refuses is counted as refused, not sent.
	snd, err := otelcoltest.NewClient(e.col.GRPC, false)
	if err != nil {
		return err
	}
	defer snd.Shutdown(context.Background())

	fmt.Printf("soak: %s at %d records/s in requests of %d, durable=%t, collector %s\n",
		o.duration, o.rate, o.batch, o.durable, o.collector)
	d := &drainer{rdb: e.rdb, interval: o.poll, validate: true}
	drainCtx, stopDrain := context.WithCancel(context.Background())
	drained := make(chan struct{})
	go func() { d.run(drainCtx); close(drained) }()
	finishDrain := sync.OnceFunc(func() {
		stopDrain()
		<-drained
	})
	defer finishDrain()

	start := time.Now()
	var sent, refused atomic.Int64
	var acks []time.Duration // read after loadDone
	loadDone := make(chan struct{})
	go func() {
		defer close(loadDone)
		tick := time.NewTicker(time.Duration(float64(time.Second) * float64(o.batch) / float64(o.rate)))
		defer tick.Stop()
		next := 0
		for time.Since(start) < o.duration {
			recs := snd.Records(next, o.batch)
			next += o.batch
			t0 := time.Now()
			if snd.Export(context.Background(), recs) == nil {
				acks = append(acks, time.Since(t0))
				sent.Add(int64(o.batch))
			} else {
				refused.Add(int64(o.batch))
			}
			<-tick.C
		}
	}()

	fmt.Printf("%8s %10s %10s %10s %10s %8s %10s %10s\n", "time", "rss", "go sys", "heap", "goroutines", "queue", "redis list", "redis mem")
	var samples []sample
	sampleTick := time.NewTicker(o.sample)
	defer sampleTick.Stop()
loop:
	for {
		select {
		case <-loadDone:
			break loop
		case <-sampleTick.C:
			s, err := e.takeSample(start)
			if err != nil {
				return err
			}
			samples = append(samples, s)
			fmt.Printf("%8s %10s %10s %10s %10d %8d %10d %10s\n", s.at, mib(s.rss), mib(s.sys), mib(s.heap), s.goroutines, s.queue, s.list, mib(s.redisMem))
		}
	}
	elapsed := time.Since(start)

	// The exporter acknowledges everything it was sent once its queue is empty; the drainer
	// then takes the last elements.
	if err := waitFor(time.Minute, func() bool {
		m, err := e.col.Scrape()
		return err == nil && otelcoltest.Sum(m, "otelcol_plumelog_exporter_records_sent")+otelcoltest.Sum(m, "otelcol_plumelog_exporter_records_dropped") >= float64(sent.Load())
	}); err != nil {
		return fmt.Errorf("exporter did not settle: %w", err)
	}
	final, err := e.col.Scrape()
	if err != nil {
		return err
	}
	goroutines, err := e.goroutines()
	if err != nil {
		return err
	}
	rss, hwm, err := e.memory()
	if err != nil {
		return err
	}
	if err := e.col.Stop(); err != nil {
		return err
	}
	finishDrain()

	delivered, dups, invalid := d.counts()
	dropped := int(otelcoltest.Sum(final, "otelcol_plumelog_exporter_records_dropped"))
	slices.Sort(d.latencies)
	fmt.Printf("\nsent %d records in %s (%.0f/s), refused %d\n", sent.Load(), elapsed.Round(time.Second),
		float64(sent.Load())/elapsed.Seconds(), refused.Load())
	fmt.Printf("delivered %d distinct, %d duplicates, %d invalid; dropped %d (exporter metric)\n", delivered, dups, invalid, dropped)
	slices.Sort(acks)
	fmt.Printf("request acknowledged: p50 %s, p99 %s\n",
		percentile(acks, 0.5).Round(10*time.Microsecond), percentile(acks, 0.99).Round(10*time.Microsecond))
	fmt.Printf("record to LPOP (includes up to %s of polling): p50 %s, p99 %s, max %s\n", o.poll,
		percentile(d.latencies, 0.5).Round(time.Millisecond), percentile(d.latencies, 0.99).Round(time.Millisecond),
		percentile(d.latencies, 1).Round(time.Millisecond))
	fmt.Printf("collector: peak resident memory (VmHWM) %s, resident at end %s, goroutines at end %d, cpu %.1f s\n",
		mib(hwm), mib(rss), goroutines, otelcoltest.Sum(final, "otelcol_process_cpu_seconds"))
	printFlatness(samples, o.warmup)
	fmt.Println("\ncollector's own metrics at the end:")
	printMetrics(os.Stdout, final)

	if d.firstErr != nil {
		return fmt.Errorf("draining: %w", d.firstErr)
	}
	if int64(delivered+dropped) != sent.Load() || invalid > 0 {
		return fmt.Errorf("accounting: sent %d != delivered %d + dropped %d, or %d invalid elements", sent.Load(), delivered, dropped, invalid)
	}
	return nil
}

// printFlatness shows the range of memory and goroutines after warm-up, and the change from
// the first half of those samples to the second.
func printFlatness(samples []sample, warmup time.Duration) {
	var after []sample
	for _, s := range samples {
		if s.at >= warmup {
			after = append(after, s)
		}
	}
	if len(after) < 2 {
		fmt.Println("too few samples after warm-up to judge flatness")
		return
	}
	half := len(after) / 2
	mean := func(ss []sample, f func(sample) int64) float64 {
		var t int64
		for _, s := range ss {
			t += f(s)
		}
		return float64(t) / float64(len(ss))
	}
	for _, m := range []struct {
		name string
		f    func(sample) int64
		unit func(float64) string
	}{
		{"rss", func(s sample) int64 { return s.rss }, func(v float64) string { return mib(int64(v)) }},
		{"go sys", func(s sample) int64 { return s.sys }, func(v float64) string { return mib(int64(v)) }},
		{"heap", func(s sample) int64 { return s.heap }, func(v float64) string { return mib(int64(v)) }},
		{"goroutines", func(s sample) int64 { return int64(s.goroutines) }, func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }},
	} {
		lo, hi := m.f(after[0]), m.f(after[0])
		for _, s := range after {
			lo, hi = min(lo, m.f(s)), max(hi, m.f(s))
		}
		first, second := mean(after[:half], m.f), mean(after[half:], m.f)
		fmt.Printf("after warm-up (%d samples from %s): %-10s min %s max %s, mean of first half %s, second half %s\n",
			len(after), warmup, m.name, m.unit(float64(lo)), m.unit(float64(hi)), m.unit(first), m.unit(second))
	}
}

// printMetrics prints the collector's own series that describe the pipeline and the process.
func printMetrics(w io.Writer, m map[string]float64) {
	keys := make([]string, 0, len(m))
	for k := range m {
		if strings.HasPrefix(k, "otelcol_") && !strings.Contains(k, "_bucket{") {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "  %s %g\n", k, m[k])
	}
}

// throughput sends o.records as fast as o.concurrency senders can, o.runs times, each on a
// fresh Redis and collector, and reports each run and the median.
func throughput(o options) error {
	fmt.Printf("throughput: %d records in requests of %d from %d senders, %d runs, durable=%t fsync=%t\n",
		o.records, o.batch, o.concurrency, o.runs, o.durable, o.fsync)
	var rates []float64
	var acks, e2es []time.Duration
	for run := range o.runs {
		r, err := throughputRun(o)
		if err != nil {
			return fmt.Errorf("run %d: %w", run+1, err)
		}
		fmt.Printf("run %d: %.0f records/s; request acknowledged p50 %s p99 %s; record to Redis p50 %s p99 %s\n",
			run+1, r.rate, r.ackP50, r.ackP99, r.e2eP50, r.e2eP99)
		rates = append(rates, r.rate)
		acks = append(acks, r.ackP50)
		e2es = append(e2es, r.e2eP50)
	}
	slices.Sort(rates)
	slices.Sort(acks)
	slices.Sort(e2es)
	fmt.Printf("median of %d runs: %.0f records/s, request acknowledged p50 %s, record to Redis p50 %s\n",
		o.runs, rates[len(rates)/2], acks[len(acks)/2], e2es[len(e2es)/2])
	return nil
}

type runResult struct {
	rate                           float64
	ackP50, ackP99, e2eP50, e2eP99 time.Duration
}

func throughputRun(o options) (runResult, error) {
	e, err := setup(o)
	if err != nil {
		return runResult{}, err
	}
	defer e.close()

	// The requests are built before the clock starts, so that the collector is measured,
	// not the SDK; their timestamps are set when they are sent.
	perSender := o.records / o.concurrency / o.batch
	senders := make([]*otelcoltest.Client, o.concurrency)
	requests := make([][][]sdklog.Record, o.concurrency)
	for i := range senders {
		if senders[i], err = otelcoltest.NewClient(e.col.GRPC, false); err != nil {
			return runResult{}, err
		}
		defer senders[i].Shutdown(context.Background())
		for j := range perSender {
			recs := senders[i].Records((i*perSender+j)*o.batch, o.batch)
			requests[i] = append(requests[i], slices.Clone(recs))
		}
	}
	total := perSender * o.batch * o.concurrency

	d := &drainer{rdb: e.rdb, interval: 2 * time.Millisecond}
	drainCtx, stopDrain := context.WithCancel(context.Background())
	drained := make(chan struct{})
	go func() { d.run(drainCtx); close(drained) }()
	defer func() {
		stopDrain()
		<-drained
	}()

	start := time.Now()
	var wg sync.WaitGroup
	var failed atomic.Int64
	ackLat := make([][]time.Duration, o.concurrency)
	for i := range senders {
		wg.Go(func() {
			for _, recs := range requests[i] {
				now := time.Now()
				for k := range recs {
					recs[k].SetTimestamp(now)
				}
				if err := senders[i].Export(context.Background(), recs); err != nil {
					failed.Add(1)
					continue
				}
				ackLat[i] = append(ackLat[i], time.Since(now))
			}
		})
	}
	wg.Wait()
	if n := failed.Load(); n > 0 {
		return runResult{}, fmt.Errorf("%d requests refused", n)
	}
	err = waitFor(5*time.Minute, func() bool {
		delivered, _, _ := d.counts()
		return delivered >= total
	})
	elapsed := time.Since(start)
	if err != nil {
		delivered, _, _ := d.counts()
		return runResult{}, fmt.Errorf("delivered %d of %d: %w", delivered, total, err)
	}
	all := slices.Concat(ackLat...)
	slices.Sort(all)
	slices.Sort(d.latencies)
	return runResult{
		rate:   float64(total) / elapsed.Seconds(),
		ackP50: percentile(all, 0.5).Round(10 * time.Microsecond), ackP99: percentile(all, 0.99).Round(10 * time.Microsecond),
		e2eP50: percentile(d.latencies, 0.5).Round(time.Millisecond), e2eP99: percentile(d.latencies, 0.99).Round(time.Millisecond),
	}, nil
}
