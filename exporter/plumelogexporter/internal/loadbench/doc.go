// Package loadbench measures the Plumelog exporter end to end against a real redis-server:
// delivery latency and batch size at paced offered loads in each batching mode, saturation
// throughput next to redis-benchmark's variadic RPUSH, and memory under sustained overload.
//
// Its tests run only when -loadbench.out names a directory for the results (`make bench`
// does that); a plain `go test ./...` skips them.
package loadbench // import "github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/loadbench"
