// Package plumelogexporter exports OpenTelemetry logs to Plumelog: each log record becomes a
// Plumelog run-log message, pushed in batches into the Redis list that a Plumelog server drains.
package plumelogexporter // import "github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter"

//go:generate go -C ../../internal/tools tool mdatagen ../../exporter/plumelogexporter/metadata.yaml
