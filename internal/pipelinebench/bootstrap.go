package main

import (
	"math"
	"math/rand/v2"
	"slices"
)

// resamples is how many times bootstrapRatio draws the rounds again: enough for the 5th and
// 95th percentiles to settle to two digits.
const resamples = 4000

// comparison is the current binary's median over the baseline's, and how far that ratio can
// be trusted on a noisy machine: the 90 % interval of the ratio when the rounds are drawn
// again with replacement (a bootstrap), keeping the runs of a round together.
type comparison struct {
	Ratio float64 `json:"ratio"`
	Low   float64 `json:"low"`
	High  float64 `json:"high"`
}

// compare returns the comparison of current with baseline, one value per round each, or nil
// when a median of the baseline can be zero and the ratio is not defined.
func compare(baseline, current []float64) *comparison {
	if slices.Contains(baseline, 0) {
		return nil
	}
	c := &comparison{Ratio: median(current) / median(baseline)}
	// A fixed seed: the same runs always give the same interval.
	rng := rand.New(rand.NewPCG(1, 2))
	ratios := make([]float64, 0, resamples)
	b, cur := make([]float64, len(baseline)), make([]float64, len(current))
	for range resamples {
		for i := range b {
			round := rng.IntN(len(baseline))
			b[i], cur[i] = baseline[round], current[round]
		}
		ratios = append(ratios, median(cur)/median(b))
	}
	slices.Sort(ratios)
	c.Low = ratios[int(math.Floor(0.05*resamples))]
	c.High = ratios[int(math.Ceil(0.95*resamples))-1]
	return c
}

func median(values []float64) float64 { return statOf(values).Median }
