package plumelogexporter // import "github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/batcher"
	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/encoder"
	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/metadata"
	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/sender"
)

// Every default of the exporter is here.
const (
	// defaultEndpoint is the standalone Redis used when no server is configured.
	defaultEndpoint = "localhost:6379"
	// defaultMaxEnvelopeSize bounds what one envelope makes the server hold: it pops up to
	// plumelog.maxSendSize (100) envelopes at once and writes all their messages in one
	// Elasticsearch bulk request, which Elasticsearch caps at 100 MB by default.
	defaultMaxEnvelopeSize = 512 << 10
)

// NewFactory creates a factory for the Plumelog exporter.
func NewFactory() exporter.Factory {
	return exporter.NewFactory(
		metadata.Type,
		createDefaultConfig,
		exporter.WithLogs(createLogs, metadata.LogsStability),
		exporter.WithTraces(createTraces, metadata.TracesStability),
	)
}

func createDefaultConfig() component.Config {
	return &Config{
		Redis: sender.Config{
			DialTimeout:  5 * time.Second,
			ReadTimeout:  3 * time.Second,
			WriteTimeout: 3 * time.Second,
		},
		TLS: configtls.ClientConfig{Insecure: true},
		Lists: ListsConfig{
			Key:                "plume_log_list",
			TraceKey:           "plume_trace_list",
			Compression:        compressionNone,
			CompressedKey:      "plume_log_list_compress",
			TraceCompressedKey: "plume_trace_list_compress",
			MaxEnvelopeSize:    defaultMaxEnvelopeSize,
		},
		Message: MessageConfig{
			AppName:  "unknown",
			Env:      "default",
			Timezone: "Local",
			Mapping:  encoder.DefaultMapping(),
			Fields:   encoder.DefaultFields(),
		},
		Batching: batcher.Config{
			BatchSize:     500,
			FlushInterval: time.Second,
			Mode:          batcher.ModeEager,
			MaxLinger:     5 * time.Millisecond,
			MaxInFlight:   4,
			MaxRetries:    5,
			Backoff: batcher.Backoff{
				InitialInterval: 250 * time.Millisecond,
				MaxInterval:     10 * time.Second,
				Multiplier:      2,
				Jitter:          0.2,
			},
			Buffer: batcher.Buffer{
				MaxRecords: 100_000,
				MaxBytes:   64 << 20,
			},
		},
		// Off until the user writes sending_queue; then its unset keys take the collector's
		// defaults (num_consumers 10, queue_size 1000 requests), so `storage` alone suffices.
		QueueConfig: configoptional.Default(exporterhelper.NewDefaultQueueConfig()),
	}
}

func createLogs(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Logs, error) {
	c := cfg.(*Config)
	exp, err := newSignalExporter(c, set, "logs", c.Lists.logsList())
	if err != nil {
		return nil, err
	}
	return exporterhelper.NewLogs(ctx, set, cfg, logsExporter{exp}.pushLogs, c.helperOptions(exp)...)
}

func createTraces(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Traces, error) {
	c := cfg.(*Config)
	exp, err := newSignalExporter(c, set, "traces", c.Lists.tracesList())
	if err != nil {
		return nil, err
	}
	return exporterhelper.NewTraces(ctx, set, cfg, tracesExporter{exp}.pushTraces, c.helperOptions(exp)...)
}
