package plumelogexporter // import "github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/batcher"
	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/encoder"
	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/metadata"
)

// NewFactory creates a factory for the Plumelog exporter.
func NewFactory() exporter.Factory {
	return exporter.NewFactory(
		metadata.Type,
		createDefaultConfig,
		exporter.WithLogs(createLogs, metadata.LogsStability),
	)
}

func createDefaultConfig() component.Config {
	mapping := encoder.DefaultMapping()
	return &Config{
		TLS:             configtls.ClientConfig{Insecure: true},
		DialTimeout:     5 * time.Second,
		ReadTimeout:     3 * time.Second,
		WriteTimeout:    3 * time.Second,
		Key:             "plume_log_list",
		Compression:     compressionNone,
		CompressedKey:   "plume_log_list_compress",
		MaxEnvelopeSize: defaultMaxEnvelopeSize,
		AppName:         "unknown",
		Env:             "default",
		Timezone:        "Local",
		Mapping: MappingConfig{
			AppName:    mapping.AppName,
			Env:        mapping.Env,
			ServerName: mapping.ServerName,
			ClassName:  mapping.ClassName,
			Method:     mapping.Method,
			ThreadName: mapping.ThreadName,
			Stacktrace: mapping.Stacktrace,
		},
		BatchSize:     100,
		FlushInterval: time.Second,
		Mode:          string(batcher.ModeEager),
		MaxInFlight:   1,
		MaxRetries:    5,
		Backoff: BackoffConfig{
			InitialInterval: 250 * time.Millisecond,
			MaxInterval:     10 * time.Second,
			Multiplier:      2,
			Jitter:          0.2,
		},
		Buffer: BufferConfig{
			MaxRecords: 100_000,
			MaxBytes:   64 << 20,
		},
		// Off until the user writes sending_queue; then its unset keys take the collector's
		// defaults (num_consumers 10, queue_size 1000 requests), so `storage` alone suffices.
		QueueConfig: configoptional.Default(exporterhelper.NewDefaultQueueConfig()),
	}
}

func createLogs(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Logs, error) {
	c := cfg.(*Config)
	exp, err := newLogsExporter(c, set)
	if err != nil {
		return nil, err
	}
	return exporterhelper.NewLogs(ctx, set, cfg, exp.pushLogs,
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
		exporterhelper.WithStart(exp.start),
		exporterhelper.WithShutdown(exp.shutdown),
		exporterhelper.WithRetry(queueRetry(c)),
		exporterhelper.WithTimeout(exporterhelper.TimeoutConfig{}),
		exporterhelper.WithQueue(c.QueueConfig),
	)
}

// queueRetry is the helper's retry of whole requests. Without a sending queue the batcher
// owns retries: a request is handed over at once and its records are retried, then dropped
// and counted, there. With a sending queue, a request whose records used up their retries
// comes back to the queue and is sent again after the same backoff, for as long as it takes:
// the queue holds it meanwhile (on disk with a storage extension), and at shutdown it stays
// there for the next start instead of being dropped.
func queueRetry(c *Config) configretry.BackOffConfig {
	if !c.QueueConfig.HasValue() {
		return configretry.BackOffConfig{Enabled: false}
	}
	return configretry.BackOffConfig{
		Enabled:             true,
		InitialInterval:     c.Backoff.InitialInterval,
		MaxInterval:         c.Backoff.MaxInterval,
		Multiplier:          c.Backoff.Multiplier,
		RandomizationFactor: c.Backoff.Jitter,
		MaxElapsedTime:      0,
	}
}
