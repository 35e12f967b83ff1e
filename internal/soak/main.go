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
//
// main.go reads the flags; env.go starts Redis and the collector and samples them; drain.go
// is the Plumelog server's side; soak.go and throughput.go are the two runs; report.go prints.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"
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
