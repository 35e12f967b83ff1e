package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fakeRuns returns the runs of three rounds of every variant for the binaries given, with
// collector CPU per record (µs) from cpu[binary][variant][round]; 1,000,000 records in 2 s.
func fakeRuns(cpu map[string]map[string][3]float64) []runResult {
	var runs []runResult
	for round := range 3 {
		for bin, byVariant := range cpu {
			for v, perRound := range byVariant {
				runs = append(runs, runResult{Round: round + 1, Binary: bin, Variant: v, Records: 1_000_000,
					Seconds: 2, CollectorCPU: perRound[round], RedisCPU: 0.5, LoadAverage: 1})
			}
		}
	}
	return runs
}

func rowNamed(t *testing.T, rep report, label string) row {
	t.Helper()
	for _, r := range rep.Rows {
		if r.Label == label {
			return r
		}
	}
	t.Fatalf("no row %q", label)
	return row{}
}

func TestSummarizePairsTheRunsOfARound(t *testing.T) {
	// Round 2 is slow for everything: the baseline's added CPU, taken within each round, is 1, 2
	// and 5 µs, median 2, while the difference of the medians would be 6 − 2 = 4.
	cpu := map[string]map[string][3]float64{
		"baseline": {"debug": {2, 9, 1}, "plumelog": {3, 11, 6}, "plumelog_mif1": {3, 10, 3}},
		"current":  {"debug": {2, 9, 1}, "plumelog": {2.5, 10, 2.5}, "plumelog_mif1": {3, 10, 3}},
	}
	bins := []binary{{Name: "baseline", Rev: "aaa"}, {Name: "current", Rev: "bbb"}}
	o := options{rounds: 3, records: 1_000_000, warmup: 1000, senders: 4, batch: 100}
	rep := summarize(bins, fakeRuns(cpu), o, time.Now())

	added := rowNamed(t, rep, "exporter's added CPU per record (plumelog − debug)")
	require.Equal(t, stat{Median: 2, Min: 1, Max: 5}, added.Values["baseline"])
	require.Equal(t, stat{Median: 1, Min: 0.5, Max: 1.5}, added.Values["current"])
	require.NotNil(t, added.CurrentToBaseline)
	require.InDelta(t, 0.5, added.CurrentToBaseline.Ratio, 1e-9)

	debug := rowNamed(t, rep, "collector CPU per record, debug exporter")
	require.Equal(t, stat{Median: 2, Min: 1, Max: 9}, debug.Values["current"])
	throughput := rowNamed(t, rep, "throughput ratio plumelog ÷ debug")
	require.InDelta(t, 1, throughput.Values["current"].Median, 1e-9)

	// No refusals in either binary: no ratio, rather than NaN, which JSON cannot hold.
	refused := rowNamed(t, rep, "requests refused and sent again, plumelog exporter")
	require.Nil(t, refused.CurrentToBaseline)

	dir := t.TempDir()
	require.NoError(t, rep.write(dir))
	data, err := os.ReadFile(filepath.Join(dir, "results.json"))
	require.NoError(t, err)
	var back report
	require.NoError(t, json.Unmarshal(data, &back))
	require.Len(t, back.Runs, 18)
	md, err := os.ReadFile(filepath.Join(dir, "results.md"))
	require.NoError(t, err)
	c := added.CurrentToBaseline
	require.Contains(t, string(md), fmt.Sprintf("| **exporter's added CPU per record (plumelog − debug) (µs)** | 2.00 (1.00–5.00) | 1.00 (0.50–1.50) | 0.50× (%.2f–%.2f) |", c.Low, c.High))
}

func TestStatOfAnEvenNumberOfValuesTakesTheMiddlePair(t *testing.T) {
	require.Equal(t, stat{Median: 2.5, Min: 1, Max: 10}, statOf([]float64{10, 1, 3, 2}))
}

func TestThousands(t *testing.T) {
	for in, want := range map[float64]string{0: "0", 999: "999", 1000: "1,000", 1234567.4: "1,234,567", -1234: "-1,234"} {
		require.Equal(t, want, thousands(in), "%v", in)
	}
}

func TestCompareBootstrapsTheRatioOfMedians(t *testing.T) {
	// A current binary that takes exactly half in every round: no doubt about the ratio.
	base := []float64{4, 6, 5, 9, 3}
	half := []float64{2, 3, 2.5, 4.5, 1.5}
	require.Equal(t, &comparison{Ratio: 0.5, Low: 0.5, High: 0.5}, compare(base, half))

	// The same binary measured twice on a noisy machine: the interval spans 1.
	noisy := []float64{3, 7, 4, 6, 5}
	c := compare(base, noisy)
	require.InDelta(t, 1, c.Ratio, 1e-9)
	require.Less(t, c.Low, 1.0)
	require.Greater(t, c.High, 1.0)
	require.Equal(t, c, compare(base, noisy), "the same runs give the same interval")

	require.Nil(t, compare([]float64{0, 1, 2}, []float64{1, 1, 1}), "no ratio to a baseline that may be zero")
}
