package plumelogexporter // import "github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter"

import (
	"context"
	"net"
	"os"
	"time"

	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/batcher"
	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/encoder"
	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/envelope"
	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/sender"
)

// This file is where a Config becomes the exporter's parts; nothing else translates it.

// encoderConfig is what the encoders take from the message settings.
func (m MessageConfig) encoderConfig() (encoder.Config, error) {
	loc, err := time.LoadLocation(m.Timezone)
	if err != nil {
		return encoder.Config{}, err
	}
	serverName := m.ServerName
	if serverName == "" {
		serverName = localServerName()
	}
	return encoder.Config{
		AppName:         m.AppName,
		Env:             m.Env,
		ServerName:      serverName,
		Location:        loc,
		Mapping:         m.Mapping,
		Fields:          &m.Fields,
		MaxContentBytes: m.MaxContentSize,
	}, nil
}

// newSender connects the configured Redis to list, the key a signal writes to.
func (cfg *Config) newSender(ctx context.Context, list string) (*sender.Sender, error) {
	redis := cfg.Redis
	if redis.Endpoint == "" && !redis.Sentinel.IsSet() && len(redis.Cluster.Addresses) == 0 {
		redis.Endpoint = defaultEndpoint
	}
	tlsSettings := cfg.TLS
	if redis.TLSImplied() {
		tlsSettings.Insecure = false
	}
	tlsCfg, err := tlsSettings.LoadTLSConfig(ctx)
	if err != nil {
		return nil, err
	}
	return sender.New(redis, tlsCfg, list)
}

// tlsEnabled reports whether settings turn TLS on, as configtls decides.
func tlsEnabled(settings configtls.ClientConfig) bool {
	return !settings.Insecure || settings.CAFile != "" || len(settings.CAPem) > 0
}

// logsList is the list run-log messages go to.
func (l ListsConfig) logsList() string {
	if l.Compression == compressionLZ4 {
		return l.CompressedKey
	}
	return l.Key
}

// tracesList is the list trace events go to.
func (l ListsConfig) tracesList() string {
	if l.Compression == compressionLZ4 {
		return l.TraceCompressedKey
	}
	return l.TraceKey
}

// sendFunc returns what the batcher calls with each batch of messages. With compression the
// batch is packed into envelopes first; the sender writes them all or none, like the
// messages of an uncompressed batch.
func (l ListsConfig) sendFunc(s *sender.Sender) batcher.SendFunc {
	if l.Compression != compressionLZ4 {
		return s.Send
	}
	packer := envelope.NewPacker(l.MaxEnvelopeSize)
	return func(ctx context.Context, batch [][]byte) error {
		return s.Send(ctx, packer.Pack(batch))
	}
}

// localServerName is what Plumelog's Java client sends as serverName: the host's first
// non-loopback IPv4 address; a host without one is named by its host name.
func localServerName() string {
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if ipNet, ok := a.(*net.IPNet); ok && !ipNet.IP.IsLoopback() {
				if ip4 := ipNet.IP.To4(); ip4 != nil {
					return ip4.String()
				}
			}
		}
	}
	if name, err := os.Hostname(); err == nil {
		return name
	}
	return "unknown"
}

// helperOptions are the collector's exporter helper settings for exp: no timeout of its own
// (the batcher bounds every send), the sending queue when configured, and its retries.
func (cfg *Config) helperOptions(exp *signalExporter) []exporterhelper.Option {
	return []exporterhelper.Option{
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
		exporterhelper.WithStart(exp.start),
		exporterhelper.WithShutdown(exp.shutdown),
		exporterhelper.WithRetry(cfg.queueRetry()),
		exporterhelper.WithTimeout(exporterhelper.TimeoutConfig{}),
		exporterhelper.WithQueue(cfg.QueueConfig),
	}
}

// queueRetry is the helper's retry of whole requests. Without a sending queue the batcher
// owns retries: a request is handed over at once and its records are retried, then dropped
// and counted, there. With a sending queue, the records of a request that were not delivered
// within their retries come back to the queue and are sent again after the same backoff, for
// as long as it takes: the queue holds them meanwhile (on disk with a storage extension), and
// at shutdown they stay there for the next start instead of being dropped.
func (cfg *Config) queueRetry() configretry.BackOffConfig {
	if !cfg.QueueConfig.HasValue() {
		return configretry.BackOffConfig{Enabled: false}
	}
	b := cfg.Batching.Backoff
	return configretry.BackOffConfig{
		Enabled:             true,
		InitialInterval:     b.InitialInterval,
		MaxInterval:         b.MaxInterval,
		Multiplier:          b.Multiplier,
		RandomizationFactor: b.Jitter,
		MaxElapsedTime:      0,
	}
}
