// Package slowlink checks the Plumelog exporter's memory and goroutines while a slow network
// holds it back for a minute: latency and a bandwidth limit between the exporter and a real
// redis-server, under a steady load of thousands of records a second. It has tests only; they
// run in a process of their own, so that the resident memory they measure is the exporter's.
package slowlink // import "github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/slowlink"
