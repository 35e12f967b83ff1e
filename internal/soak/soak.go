package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync/atomic"
	"time"

	"github.com/plumelog-otel/otelcol-plumelog/internal/otelcoltest"
)

// soak sends a steady load for o.duration while sampling the collector, waits until the
// exporter has settled every record, and reports.
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
	defer func() { _ = snd.Shutdown(context.Background()) }()

	fmt.Printf("soak: %s at %d records/s in requests of %d, durable=%t, collector %s\n",
		o.duration, o.rate, o.batch, o.durable, o.collector)
	d := &drainer{rdb: e.rdb, interval: o.poll, validate: true}
	stopDrain := d.start()
	defer stopDrain()

	start := time.Now()
	l := startLoad(snd, o, start)
	samples, err := e.sampleUntil(l.done, o.sample, start)
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	end, err := e.settle(l.sent.Load())
	if err != nil {
		return err
	}
	stopDrain()
	return report(o, l, d, end, elapsed, samples)
}

// load is a paced stream of requests from one client.
type load struct {
	sent, refused atomic.Int64
	acks          []time.Duration // how long each acknowledged request took; read after done
	done          chan struct{}
}

// startLoad sends o.batch records every o.batch/o.rate seconds until o.duration has passed
// since start.
func startLoad(snd *otelcoltest.Client, o options, start time.Time) *load {
	l := &load{done: make(chan struct{})}
	go func() {
		defer close(l.done)
		tick := time.NewTicker(time.Duration(float64(time.Second) * float64(o.batch) / float64(o.rate)))
		defer tick.Stop()
		next := 0
		for time.Since(start) < o.duration {
			recs := snd.Records(next, o.batch)
			next += o.batch
			t0 := time.Now()
			if snd.Export(context.Background(), recs) == nil {
				l.acks = append(l.acks, time.Since(t0))
				l.sent.Add(int64(o.batch))
			} else {
				l.refused.Add(int64(o.batch))
			}
			<-tick.C
		}
	}()
	return l
}

// sampleUntil samples the collector and Redis every interval, printing each sample, until
// done is closed.
func (e *env) sampleUntil(done <-chan struct{}, interval time.Duration, start time.Time) ([]sample, error) {
	fmt.Printf("%8s %10s %10s %10s %10s %8s %10s %10s\n", "time", "rss", "go sys", "heap", "goroutines", "buffer", "redis list", "redis mem")
	var samples []sample
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return samples, nil
		case <-tick.C:
			s, err := e.takeSample(start)
			if err != nil {
				return nil, err
			}
			samples = append(samples, s)
			fmt.Printf("%8s %10s %10s %10s %10d %8d %10d %10s\n", s.at, mib(s.rss), mib(s.sys), mib(s.heap), s.goroutines, s.buffer, s.list, mib(s.redisMem))
		}
	}
}

// final is the collector's state once it has settled every record.
type final struct {
	metrics    map[string]float64
	goroutines int
	rss, hwm   int64
}

// settle waits until the exporter has delivered or dropped all sent records (it acknowledges
// everything it was sent once its buffer is empty), reads the collector's state, and stops it.
func (e *env) settle(sent int64) (final, error) {
	var f final
	if err := waitFor(time.Minute, func() bool {
		m, err := e.col.Scrape()
		return err == nil && otelcoltest.Sum(m, "otelcol_plumelog_exporter_records_sent")+otelcoltest.Sum(m, "otelcol_plumelog_exporter_records_dropped") >= float64(sent)
	}); err != nil {
		return f, fmt.Errorf("exporter did not settle: %w", err)
	}
	var err error
	if f.metrics, err = e.col.Scrape(); err != nil {
		return f, err
	}
	if f.goroutines, err = e.goroutines(); err != nil {
		return f, err
	}
	if f.rss, f.hwm, err = e.memory(); err != nil {
		return f, err
	}
	return f, e.col.Stop()
}

// report prints the run's figures and fails when a record is unaccounted for.
func report(o options, l *load, d *drainer, end final, elapsed time.Duration, samples []sample) error {
	delivered, dups, invalid := d.counts()
	dropped := int(otelcoltest.Sum(end.metrics, "otelcol_plumelog_exporter_records_dropped"))
	slices.Sort(d.latencies)
	slices.Sort(l.acks)
	fmt.Printf("\nsent %d records in %s (%.0f/s), refused %d\n", l.sent.Load(), elapsed.Round(time.Second),
		float64(l.sent.Load())/elapsed.Seconds(), l.refused.Load())
	fmt.Printf("delivered %d distinct, %d duplicates, %d invalid; dropped %d (exporter metric)\n", delivered, dups, invalid, dropped)
	fmt.Printf("request acknowledged: p50 %s, p99 %s\n",
		percentile(l.acks, 0.5).Round(10*time.Microsecond), percentile(l.acks, 0.99).Round(10*time.Microsecond))
	fmt.Printf("record to LPOP (includes up to %s of polling): p50 %s, p99 %s, max %s\n", o.poll,
		percentile(d.latencies, 0.5).Round(time.Millisecond), percentile(d.latencies, 0.99).Round(time.Millisecond),
		percentile(d.latencies, 1).Round(time.Millisecond))
	fmt.Printf("collector: peak resident memory (VmHWM) %s, resident at end %s, goroutines at end %d, cpu %.1f s\n",
		mib(end.hwm), mib(end.rss), end.goroutines, otelcoltest.Sum(end.metrics, "otelcol_process_cpu_seconds"))
	printFlatness(samples, o.warmup)
	fmt.Println("\ncollector's own metrics at the end:")
	printMetrics(os.Stdout, end.metrics)

	if d.firstErr != nil {
		return fmt.Errorf("draining: %w", d.firstErr)
	}
	if int64(delivered+dropped) != l.sent.Load() || invalid > 0 {
		return fmt.Errorf("accounting: sent %d != delivered %d + dropped %d, or %d invalid elements", l.sent.Load(), delivered, dropped, invalid)
	}
	return nil
}
