//go:build race

package encoder

// raceEnabled skips allocation counts, which the race detector inflates: it makes sync.Pool
// drop items at random.
const raceEnabled = true
