package main

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// flatnessMeasures are the sampled quantities that must stay flat after warm-up.
var flatnessMeasures = []struct {
	name string
	f    func(sample) int64
	unit func(float64) string
}{
	{"rss", func(s sample) int64 { return s.rss }, func(v float64) string { return mib(int64(v)) }},
	{"go sys", func(s sample) int64 { return s.sys }, func(v float64) string { return mib(int64(v)) }},
	{"heap", func(s sample) int64 { return s.heap }, func(v float64) string { return mib(int64(v)) }},
	{"goroutines", func(s sample) int64 { return int64(s.goroutines) }, func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }},
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
	for _, m := range flatnessMeasures {
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
