package main

import (
	"fmt"
	"strings"
	"time"
)

// markdown renders the summary table, then every run in the order it ran.
func (rep report) markdown() string {
	var b strings.Builder
	s := rep.Settings
	fmt.Fprintf(&b, "Pipeline benchmark: OTLP/gRPC requests of %d records from %d concurrent senders, %s records per run after %s for warm-up; "+
		"%d rounds, each running every configuration once (alternating order); median (min–max) of the rounds. "+
		"%d CPUs, one-minute load average %s at the ends of the runs, %s in all.\n\n",
		s.Batch, s.Senders, thousands(float64(s.Records)), thousands(float64(s.Warmup)), s.Rounds, s.CPUs,
		rep.loadAverages(), (time.Duration(s.Seconds) * time.Second).Round(time.Second))
	hasRatio := len(rep.Binaries) > 1
	if hasRatio {
		b.WriteString("current ÷ baseline is the ratio of the medians; in brackets, the 90 % interval of that ratio " +
			"when the rounds are drawn again with replacement (bootstrap): where it spans 1, the run cannot tell the binaries apart.\n\n")
	}
	b.WriteString("| |")
	for _, bin := range rep.Binaries {
		fmt.Fprintf(&b, " %s (%s) |", bin.Name, bin.Rev)
	}
	if hasRatio {
		b.WriteString(" current ÷ baseline (90 % interval) |")
	}
	b.WriteString("\n|---|" + strings.Repeat("---:|", len(rep.Binaries)))
	if hasRatio {
		b.WriteString("---:|")
	}
	b.WriteString("\n")
	for _, r := range rep.Rows {
		label := r.Label
		if r.Unit != "×" && r.Unit != "records" {
			label = fmt.Sprintf("%s (%s)", r.Label, r.Unit)
		}
		if r.strong {
			label = "**" + label + "**"
		}
		b.WriteString("| " + label + " |")
		for _, bin := range rep.Binaries {
			b.WriteString(" " + formatStat(r.Values[bin.Name], r.Unit) + " |")
		}
		switch {
		case r.CurrentToBaseline != nil:
			c := r.CurrentToBaseline
			fmt.Fprintf(&b, " %.2f× (%.2f–%.2f) |", c.Ratio, c.Low, c.High)
		case hasRatio:
			b.WriteString(" – |")
		}
		b.WriteString("\n")
	}
	b.WriteString("\n" + rep.runsTable())
	return b.String()
}

func (rep report) runsTable() string {
	var b strings.Builder
	b.WriteString("| round | binary | configuration | seconds | collector CPU (µs/record) | records/s | Redis CPU (µs/record) | refused requests | load average |\n")
	b.WriteString("|---:|---|---|---:|---:|---:|---:|---:|---:|\n")
	names := map[string]string{}
	for _, v := range variants {
		names[v.Key] = v.Name
	}
	for _, r := range rep.Runs {
		fmt.Fprintf(&b, "| %d | %s | %s | %.2f | %.2f | %s | %.2f | %d | %.1f |\n", r.Round, r.Binary, names[r.Variant],
			r.Seconds, r.collectorMicros(), thousands(r.perSecond()), r.redisMicros(), r.Refused, r.LoadAverage)
	}
	return b.String()
}

func formatStat(s stat, unit string) string {
	f := func(v float64) string {
		switch unit {
		case "records/s", "per run", "records":
			return thousands(v)
		case "×":
			return fmt.Sprintf("%.2f×", v)
		default:
			return fmt.Sprintf("%.2f", v)
		}
	}
	return fmt.Sprintf("%s (%s–%s)", f(s.Median), f(s.Min), f(s.Max))
}

func (rep report) loadAverages() string {
	var loads []float64
	for _, r := range rep.Runs {
		loads = append(loads, r.LoadAverage)
	}
	if len(loads) == 0 {
		return "unknown"
	}
	st := statOf(loads)
	return fmt.Sprintf("%.1f (%.1f–%.1f)", st.Median, st.Min, st.Max)
}
