package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"
)

// metric is one row of the report: a value computed from one binary's runs of one round, by
// variant key, so that differences and ratios pair runs made close together.
type metric struct {
	label  string
	unit   string
	strong bool // the figures the exporter's cost is judged by
	value  func(runs map[string]runResult) float64
}

var metrics = []metric{
	{label: "collector CPU per record, debug exporter", unit: "µs", value: func(r map[string]runResult) float64 { return r["debug"].collectorMicros() }},
	{label: "collector CPU per record, plumelog exporter", unit: "µs", value: func(r map[string]runResult) float64 { return r["plumelog"].collectorMicros() }},
	{label: "collector CPU per record, plumelog, max_in_flight 1", unit: "µs", value: func(r map[string]runResult) float64 { return r["plumelog_mif1"].collectorMicros() }},
	{label: "exporter's added CPU per record (plumelog − debug)", unit: "µs", strong: true, value: func(r map[string]runResult) float64 {
		return r["plumelog"].collectorMicros() - r["debug"].collectorMicros()
	}},
	{label: "exporter's added CPU per record, max_in_flight 1", unit: "µs", value: func(r map[string]runResult) float64 {
		return r["plumelog_mif1"].collectorMicros() - r["debug"].collectorMicros()
	}},
	{label: "throughput, debug exporter", unit: "records/s", value: func(r map[string]runResult) float64 { return r["debug"].perSecond() }},
	{label: "throughput, plumelog exporter", unit: "records/s", value: func(r map[string]runResult) float64 { return r["plumelog"].perSecond() }},
	{label: "throughput, plumelog, max_in_flight 1", unit: "records/s", value: func(r map[string]runResult) float64 { return r["plumelog_mif1"].perSecond() }},
	{label: "throughput ratio plumelog ÷ debug", unit: "×", strong: true, value: func(r map[string]runResult) float64 {
		return r["plumelog"].perSecond() / r["debug"].perSecond()
	}},
	{label: "throughput ratio plumelog max_in_flight 1 ÷ debug", unit: "×", value: func(r map[string]runResult) float64 {
		return r["plumelog_mif1"].perSecond() / r["debug"].perSecond()
	}},
	{label: "Redis CPU per record, plumelog exporter", unit: "µs", value: func(r map[string]runResult) float64 { return r["plumelog"].redisMicros() }},
	{label: "Redis CPU per record, plumelog, max_in_flight 1", unit: "µs", value: func(r map[string]runResult) float64 { return r["plumelog_mif1"].redisMicros() }},
	{label: "records per batch, plumelog exporter", unit: "records", value: func(r map[string]runResult) float64 { return r["plumelog"].RecordsPerBatch }},
	{label: "records per batch, plumelog, max_in_flight 1", unit: "records", value: func(r map[string]runResult) float64 { return r["plumelog_mif1"].RecordsPerBatch }},
	{label: "requests refused and sent again, plumelog exporter", unit: "per run", value: func(r map[string]runResult) float64 { return float64(r["plumelog"].Refused) }},
	{label: "requests refused and sent again, plumelog, max_in_flight 1", unit: "per run", value: func(r map[string]runResult) float64 { return float64(r["plumelog_mif1"].Refused) }},
}

// stat is the median and range of a value over the rounds.
type stat struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

func statOf(values []float64) stat {
	s := slices.Clone(values)
	slices.Sort(s)
	median := s[len(s)/2]
	if len(s)%2 == 0 {
		median = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return stat{Median: median, Min: s[0], Max: s[len(s)-1]}
}

type row struct {
	Label  string          `json:"label"`
	Unit   string          `json:"unit"`
	strong bool            // bold in the table
	Values map[string]stat `json:"values"` // by binary name
	// CurrentToBaseline is the current binary's median over the baseline's. (A ratio taken
	// round by round would divide one noisy difference by another and spread far wider.)
	CurrentToBaseline *comparison `json:"current_to_baseline,omitempty"`
}

type settings struct {
	Rounds   int       `json:"rounds"`
	Records  int       `json:"records_per_run"`
	Warmup   int       `json:"warmup_records_per_run"`
	Senders  int       `json:"senders"`
	Batch    int       `json:"records_per_request"`
	Variants []variant `json:"variants"`
	CPUs     int       `json:"cpus"`
	Started  time.Time `json:"started"`
	Seconds  float64   `json:"seconds"`
}

type report struct {
	Settings settings    `json:"settings"`
	Binaries []binary    `json:"binaries"`
	Rows     []row       `json:"rows"`
	Runs     []runResult `json:"runs"`
}

func summarize(bins []binary, results []runResult, o options, started time.Time) report {
	records := o.records / (o.senders * o.batch) * o.senders * o.batch
	warmup := max(1, o.warmup/(o.senders*o.batch)) * o.senders * o.batch
	rep := report{
		Settings: settings{Rounds: o.rounds, Records: records, Warmup: warmup, Senders: o.senders, Batch: o.batch,
			Variants: variants, CPUs: runtime.NumCPU(), Started: started, Seconds: time.Since(started).Seconds()},
		Binaries: bins, Runs: results,
	}
	// byRound[binary][round-1] holds that binary's runs of the round by variant.
	byRound := map[string][]map[string]runResult{}
	for _, b := range bins {
		byRound[b.Name] = make([]map[string]runResult, o.rounds)
		for i := range byRound[b.Name] {
			byRound[b.Name][i] = map[string]runResult{}
		}
	}
	for _, r := range results {
		byRound[r.Binary][r.Round-1][r.Variant] = r
	}
	for _, m := range metrics {
		rep.Rows = append(rep.Rows, metricRow(m, bins, byRound, o.rounds))
	}
	return rep
}

func metricRow(m metric, bins []binary, byRound map[string][]map[string]runResult, rounds int) row {
	r := row{Label: m.label, Unit: m.unit, strong: m.strong, Values: map[string]stat{}}
	values := map[string][]float64{}
	for _, b := range bins {
		for round := range rounds {
			values[b.Name] = append(values[b.Name], m.value(byRound[b.Name][round]))
		}
		r.Values[b.Name] = statOf(values[b.Name])
	}
	if base, ok := values["baseline"]; ok {
		r.CurrentToBaseline = compare(base, values["current"])
	}
	return r
}

func (rep report) write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "results.md"), []byte(rep.markdown()), 0o644); err != nil {
		return err
	}
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "results.json"), append(data, '\n'), 0o644)
}

func thousands(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
