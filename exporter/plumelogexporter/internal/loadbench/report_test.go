package loadbench

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// markdown renders the results as the README's tables.
func markdown(res results) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }

	p("Mean delivery latency, from admission inside `ConsumeLogs` to the `RPUSH` reply, with `batch_size: %d` and `flush_interval: %gs`, one record per call (in brackets p50 and p99 of the wait of each batch's oldest record, the latency the exporter records per batch):\n\n", res.BatchSize, res.FlushIntervalS)
	p("| logs/s | document's claim | strict: theory |")
	for _, m := range modes {
		p(" %s |", m.Label)
	}
	p("\n|---:|---:|---:|%s\n", strings.Repeat("---:|", len(modes)))
	for _, c := range res.Claimed {
		p("| %d | %s |", c.Rate, seconds(c.MeanS))
		if r, ok := find(res, "strict", c.Rate); ok {
			p(" %s |", seconds(r.TheoryS))
		}
		for _, m := range modes {
			if r, ok := find(res, m.Name, c.Rate); ok {
				p(" **%s** (%s, %s) |", seconds(r.MeanS), seconds(r.P50S), seconds(r.P99S))
			}
		}
		p("\n")
	}
	lo, hi := math.Inf(1), 0.0
	for _, r := range res.Latency {
		lo, hi = min(lo, r.ConsumeMeanUS), max(hi, r.ConsumeMeanUS)
	}
	p("\n`ConsumeLogs` calls returned in %.0f–%.0f µs on average: encoding and admission, which come before the measured latency.\n", lo, hi)

	p("\n| mode | logs/s | records | avg batch | flushes size / age / idle | RPUSH/s | Redis commands/s |\n")
	p("|---|---:|---:|---:|---:|---:|---:|\n")
	for _, m := range modes {
		for _, r := range res.Latency {
			if r.Mode.Name != m.Name {
				continue
			}
			p("| %s | %d | %d | %.1f | %d / %d / %d | %.1f | %.1f |\n", m.Name, r.Rate, r.Records, r.AvgBatch,
				r.Flushes["size"], r.Flushes["age"], r.Flushes["idle"], r.RPushPerS, r.CommandsPerS)
		}
	}

	s := res.Saturation
	p("\nSaturation: %d producers call `ConsumeLogs` with requests of %d records as fast as the buffer admits them (`block_timeout: 1m`); messages of %.0f bytes. redis-benchmark pushes 100 of the exporter's messages per `RPUSH`. Medians of %d rounds of %s; each ratio is taken against the best redis-benchmark run of the same round (the ceiling, median %s values/s):\n\n",
		s.Producers, s.RequestRecords, s.MessageBytes, len(s.Ceiling), s.Window, count(median(s.Ceiling)))
	p("| | records (values) acknowledged/s | avg batch | vs. ceiling |\n")
	p("|---|---:|---:|---:|\n")
	for _, e := range s.Exporter {
		p("| %s | %s | %.1f | **%.2f×** |\n", e.Name, count(median(e.PerS)), median(e.AvgBatch), median(e.Ratios))
	}
	for _, r := range s.RedisBenchmark {
		p("| %s | %s | 100 | %.2f× |\n", r.Name, count(median(r.PerS)), median(r.Ratios))
	}
	return b.String()
}

func find(res results, mode string, rate int) (latencyResult, bool) {
	for _, r := range res.Latency {
		if r.Mode.Name == mode && r.Rate == rate {
			return r, true
		}
	}
	return latencyResult{}, false
}

// seconds formats a duration in seconds with three significant digits and a readable unit.
func seconds(s float64) string {
	switch {
	case s >= 1:
		return fmt.Sprintf("%.3g s", s)
	case s >= 1e-3:
		return fmt.Sprintf("%.3g ms", s*1e3)
	default:
		return fmt.Sprintf("%.3g µs", s*1e6)
	}
}

// count formats a rate with thousands separators.
func count(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func TestFormats(t *testing.T) {
	assert.Equal(t, "2.5 s", seconds(2.5))
	assert.Equal(t, "49.6 ms", seconds(0.04961))
	assert.Equal(t, "212 µs", seconds(0.000212))
	assert.Equal(t, "1,234,567", count(1234567.4))
	assert.Equal(t, "999", count(999))
}
