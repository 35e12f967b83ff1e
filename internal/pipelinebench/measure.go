package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/plumelog-otel/otelcol-plumelog/internal/otelcoltest"
)

// measure runs one variant of one binary: a warm-up, then the load phase, over which it takes
// the CPU time of the collector and of redis-server, and then checks that every record
// accepted was delivered exactly once.
func measure(ctx context.Context, bin binary, v variant, round int, o options) (runResult, error) {
	s, err := startStackRetrying(bin.Path, v, o)
	if err != nil {
		return runResult{}, err
	}
	defer s.stop()
	res := runResult{Round: round, Binary: bin.Name, Variant: v.Key}
	perSender := o.records / (o.senders * o.batch)
	warmSender := max(1, o.warmup/(o.senders*o.batch))
	warm := warmSender * o.senders * o.batch
	res.Records = perSender * o.senders * o.batch

	warmRefused, err := sendAll(ctx, s.senders, warmSender)
	if err != nil {
		return res, fmt.Errorf("warm-up: %w", err)
	}
	if werr := s.waitDelivered(ctx, v, warm); werr != nil {
		return res, fmt.Errorf("warm-up: %w", werr)
	}

	col0, redis0, err := s.cpu()
	if err != nil {
		return res, err
	}
	start := time.Now()
	profiled := s.profile(ctx, o.profile, fmt.Sprintf("r%02d-%s-%s.pprof", round, bin.Name, v.Key))
	if res.Refused, err = sendAll(ctx, s.senders, perSender); err != nil {
		return res, err
	}
	if werr := s.waitDelivered(ctx, v, warm+res.Records); werr != nil {
		return res, werr
	}
	res.Seconds = time.Since(start).Seconds()
	col1, redis1, err := s.cpu()
	if err != nil {
		return res, err
	}
	if perr := <-profiled; perr != nil {
		return res, fmt.Errorf("profile: %w", perr)
	}
	res.CollectorCPU = (col1 - col0).Seconds()
	res.RedisCPU = (redis1 - redis0).Seconds()
	if res.LoadAverage, err = loadAverage(); err != nil {
		return res, err
	}
	batches, err := s.checkAccounting(ctx, v, warm+res.Records, int(warmRefused+res.Refused)*o.batch)
	if batches > 0 {
		res.RecordsPerBatch = float64(warm+res.Records) / float64(batches)
	}
	return res, err
}

// startStackRetrying starts the stack, trying again when a start fails: the free ports the
// stack picks can be taken by another process before it binds them.
func startStackRetrying(bin string, v variant, o options) (*stack, error) {
	var errs []error
	for range 3 {
		s, err := startStack(bin, v, o)
		if err == nil {
			return s, nil
		}
		errs = append(errs, err)
		fmt.Fprintf(os.Stderr, "pipelinebench: starting again: %v\n", err)
	}
	return nil, errors.Join(errs...)
}

func (s *stack) cpu() (collector, redis time.Duration, err error) {
	if collector, err = cpuTime(s.col.Pid()); err != nil {
		return 0, 0, err
	}
	redis, err = cpuTime(s.redis.Pid())
	return collector, redis, err
}

// waitDelivered waits until n records are delivered. The debug exporter has them when it
// acknowledges them; the plumelog exporter acknowledges records it holds in its buffer, so the
// wait is for the Redis list to hold them all.
func (s *stack) waitDelivered(ctx context.Context, v variant, n int) error {
	if !v.plumelog() {
		return nil
	}
	deadline := time.Now().Add(5 * time.Minute)
	for {
		got, err := s.rdb.LLen(ctx, listKey).Result()
		if err != nil {
			return err
		}
		if got >= int64(n) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d records in Redis after 5 minutes", got, n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// checkAccounting checks that the receiver accepted n records and the exporter delivered them,
// each once, and dropped none, and that the records refused are those the senders were
// refused: a run that lost or doubled records measured something else. It returns the
// batches the plumelog exporter sent.
func (s *stack) checkAccounting(ctx context.Context, v variant, n, refused int) (batches int, err error) {
	m, err := s.col.Scrape()
	if err != nil {
		return 0, err
	}
	accepted := otelcoltest.Sum(m, "otelcol_receiver_accepted_log_records")
	sent := otelcoltest.Sum(m, "otelcol_exporter_sent_log_records", `exporter="`+v.Exporter+`"`)
	sentByAny := otelcoltest.Sum(m, "otelcol_exporter_sent_log_records")
	failed := otelcoltest.Sum(m, "otelcol_exporter_send_failed_log_records")
	dropped := otelcoltest.Sum(m, "otelcol_plumelog_exporter_records_dropped")
	if accepted != float64(n) || sent != float64(n) || sentByAny != sent || failed != float64(refused) || dropped != 0 {
		return 0, fmt.Errorf("accounting: the senders had %d records accepted and %d refused; the collector's metrics: "+
			"%.0f accepted, %.0f sent and %.0f refused by the %s exporter, %.0f sent by all exporters, %.0f dropped",
			n, refused, accepted, sent, failed, v.Exporter, sentByAny, dropped)
	}
	if !v.plumelog() {
		return 0, nil
	}
	inRedis, err := s.rdb.LLen(ctx, listKey).Result()
	if err != nil {
		return 0, err
	}
	if inRedis != int64(n) {
		return 0, fmt.Errorf("accounting: %d records sent, %d in Redis", n, inRedis)
	}
	return int(otelcoltest.Sum(m, "otelcol_plumelog_exporter_flushes")), nil
}
