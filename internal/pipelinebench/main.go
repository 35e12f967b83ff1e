// Command pipelinebench measures what the plumelog exporter costs next to the collector's own
// pipeline. It builds the distribution, runs it with the plumelog exporter (its defaults, and
// max_in_flight 1) and with the debug exporter under the same OTLP/gRPC load against a
// redis-server of its own, and reports the collector's CPU time per record, the throughput and
// redis-server's CPU time per record: medians of rounds that alternate the configurations.
//
// With -baseline it also builds a git ref in a temporary worktree and measures both binaries
// in the same rounds, so that a change is judged against the code before it on the same
// machine at the same time. Results go to -out as results.md and results.json.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

type options struct {
	baseline  string
	collector string
	out       string
	rounds    int
	records   int
	warmup    int
	senders   int
	batch     int
	// profile is a directory for a CPU profile of each run's load phase; empty takes none.
	profile string
}

func main() {
	var o options
	flag.StringVar(&o.baseline, "baseline", "", "a git ref to build and measure next to the current checkout")
	flag.StringVar(&o.collector, "collector", "", "measure this built collector as the current code instead of building the checkout")
	flag.StringVar(&o.out, "out", ".tmp/pipelinebench", "directory for results.md, results.json and the binaries measured")
	flag.IntVar(&o.rounds, "rounds", 15, "rounds; each runs every configuration once")
	flag.IntVar(&o.records, "records", 500_000, "records per run, after the warm-up")
	flag.IntVar(&o.warmup, "warmup", 20_000, "records sent before the measurement of each run")
	flag.IntVar(&o.senders, "senders", 4, "concurrent OTLP/gRPC senders")
	flag.IntVar(&o.batch, "batch", 100, "records per request")
	flag.StringVar(&o.profile, "profile", "", "directory for a CPU profile of the first "+profileSeconds+" s of each run's load phase "+
		"(through the pprof extension; it adds its own cost, so compare CPU figures of runs without it)")
	flag.Parse()

	if err := runBenchmark(o); err != nil {
		fmt.Fprintln(os.Stderr, "pipelinebench:", err)
		os.Exit(1)
	}
}

// runBenchmark runs the benchmark until it ends or is interrupted.
func runBenchmark(o options) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return benchmark(ctx, o)
}

func benchmark(ctx context.Context, o options) error {
	if o.rounds < 1 || o.senders < 1 || o.batch < 1 || o.records < o.senders*o.batch {
		return fmt.Errorf("need at least one round and sender, and -records of at least -senders × -batch")
	}
	started := time.Now()
	root, err := git(".", "rev-parse", "--show-toplevel")
	if err != nil {
		return err
	}
	out, err := filepath.Abs(o.out)
	if err != nil {
		return err
	}
	bins, err := buildAll(root, out, o)
	if err != nil {
		return err
	}
	results, err := runRounds(ctx, bins, o)
	if err != nil {
		return err
	}
	rep := summarize(bins, results, o, started)
	if err := rep.write(out); err != nil {
		return err
	}
	fmt.Print(rep.markdown())
	return nil
}

// buildAll returns the binaries to measure, the baseline first.
func buildAll(root, out string, o options) ([]binary, error) {
	var bins []binary
	current, err := buildOrUse(root, out, o.collector)
	if err != nil {
		return nil, err
	}
	if o.baseline != "" {
		base, err := buildBaseline(root, o.baseline, out)
		if err != nil {
			return nil, err
		}
		bins = append(bins, base)
	}
	return append(bins, current), nil
}

func buildOrUse(root, out, collector string) (binary, error) {
	if collector != "" {
		return useBinary(collector, out)
	}
	return buildCurrent(root, out)
}

// runRounds runs every configuration once per round, the binaries of a variant one after the
// other, so that they are compared under the same load of the machine. Odd rounds take the
// configurations in reverse order, so that none always runs first or right after another.
func runRounds(ctx context.Context, bins []binary, o options) ([]runResult, error) {
	type config struct {
		bin binary
		v   variant
	}
	var configs []config
	for _, v := range variants {
		for _, b := range bins {
			configs = append(configs, config{b, v})
		}
	}
	var results []runResult
	for round := range o.rounds {
		for i := range configs {
			c := configs[i]
			if round%2 == 1 {
				c = configs[len(configs)-1-i]
			}
			r, err := measure(ctx, c.bin, c.v, round+1, o)
			if err != nil {
				return nil, fmt.Errorf("round %d, %s %s, %s: %w", round+1, c.bin.Name, c.bin.Rev, c.v.Name, err)
			}
			fmt.Fprintf(os.Stderr, "round %d %-8s %-34s %7.2f µs/record %9.0f records/s  redis %5.2f µs/record  refused %d\n",
				r.Round, r.Binary, c.v.Name, r.collectorMicros(), r.perSecond(), r.redisMicros(), r.Refused)
			results = append(results, r)
		}
	}
	return results, nil
}
