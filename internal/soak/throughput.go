package main

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	sdklog "go.opentelemetry.io/otel/sdk/log"

	"github.com/plumelog-otel/otelcol-plumelog/internal/otelcoltest"
)

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

// sender is one client with the requests it sends.
type sender struct {
	client   *otelcoltest.Client
	requests [][]sdklog.Record
	acks     []time.Duration
}

func throughputRun(o options) (runResult, error) {
	e, err := setup(o)
	if err != nil {
		return runResult{}, err
	}
	defer e.close()
	senders, total, err := prepareSenders(e, o)
	defer func() {
		for _, s := range senders {
			_ = s.client.Shutdown(context.Background())
		}
	}()
	if err != nil {
		return runResult{}, err
	}

	d := &drainer{rdb: e.rdb, interval: 2 * time.Millisecond}
	defer d.start()()
	elapsed, err := deliverAll(senders, d, total)
	if err != nil {
		return runResult{}, err
	}
	var all []time.Duration
	for _, s := range senders {
		all = append(all, s.acks...)
	}
	slices.Sort(all)
	slices.Sort(d.latencies)
	return runResult{
		rate:   float64(total) / elapsed.Seconds(),
		ackP50: percentile(all, 0.5).Round(10 * time.Microsecond), ackP99: percentile(all, 0.99).Round(10 * time.Microsecond),
		e2eP50: percentile(d.latencies, 0.5).Round(time.Millisecond), e2eP99: percentile(d.latencies, 0.99).Round(time.Millisecond),
	}, nil
}

// deliverAll sends every sender's requests and waits until the drainer has taken all total
// records, and returns how long that took.
func deliverAll(senders []*sender, d *drainer, total int) (time.Duration, error) {
	start := time.Now()
	if err := sendAll(senders); err != nil {
		return 0, err
	}
	err := waitFor(5*time.Minute, func() bool {
		delivered, _, _ := d.counts()
		return delivered >= total
	})
	elapsed := time.Since(start)
	if err != nil {
		delivered, _, _ := d.counts()
		return 0, fmt.Errorf("delivered %d of %d: %w", delivered, total, err)
	}
	return elapsed, nil
}

// prepareSenders connects o.concurrency clients and builds their requests before the clock
// starts, so that the collector is measured, not the SDK; the records' timestamps are set when
// they are sent. It returns the senders connected so far and the records they will send.
func prepareSenders(e *env, o options) ([]*sender, int, error) {
	perSender := o.records / o.concurrency / o.batch
	var senders []*sender
	for i := range o.concurrency {
		c, err := otelcoltest.NewClient(e.col.GRPC, false)
		if err != nil {
			return senders, 0, err
		}
		s := &sender{client: c}
		senders = append(senders, s)
		for j := range perSender {
			recs := c.Records((i*perSender+j)*o.batch, o.batch)
			s.requests = append(s.requests, slices.Clone(recs))
		}
	}
	return senders, perSender * o.batch * o.concurrency, nil
}

// sendAll has every sender send its requests at once, each request stamped as it leaves.
func sendAll(senders []*sender) error {
	var wg sync.WaitGroup
	var failed atomic.Int64
	for _, s := range senders {
		wg.Go(func() {
			for _, recs := range s.requests {
				now := time.Now()
				for k := range recs {
					recs[k].SetTimestamp(now)
				}
				if err := s.client.Export(context.Background(), recs); err != nil {
					failed.Add(1)
					continue
				}
				s.acks = append(s.acks, time.Since(now))
			}
		})
	}
	wg.Wait()
	if n := failed.Load(); n > 0 {
		return fmt.Errorf("%d requests refused", n)
	}
	return nil
}
