package plumelogexporter // import "github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter"

import (
	"cmp"
	"context"
	"crypto/tls"

	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/batcher"
	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/envelope"
	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/sender"
)

const (
	// defaultEndpoint is the standalone Redis used when no server is configured.
	defaultEndpoint = "localhost:6379"
	// defaultMaxEnvelopeSize bounds what one envelope makes the server hold: it pops up to
	// plumelog.maxSendSize (100) envelopes at once and writes all their messages in one
	// Elasticsearch bulk request, which Elasticsearch caps at 100 MB by default.
	defaultMaxEnvelopeSize = 512 << 10
)

// newSender creates the Redis sender the configuration describes: the list it appends to is
// the compressed one when batches travel as envelopes.
func newSender(cfg *Config, tlsCfg *tls.Config) *sender.Sender {
	key := cfg.Key
	if cfg.Compression == compressionLZ4 {
		key = cfg.CompressedKey
	}
	sc := sender.Config{
		Endpoint:     cmp.Or(cfg.Endpoint, defaultEndpoint),
		Cluster:      cfg.Cluster.Addresses,
		Username:     cfg.Username,
		Password:     string(cfg.Password),
		DB:           cfg.DB,
		TLS:          tlsCfg,
		DialTimeout:  cfg.DialTimeout,
		ReadTimeout:  cfg.ReadTimeout,
		WriteTimeout: cfg.WriteTimeout,
		Key:          key,
	}
	if cfg.Sentinel.isSet() {
		sc.Sentinel = sender.Sentinel{
			MasterName: cfg.Sentinel.MasterName,
			Addrs:      cfg.Sentinel.Addresses,
			Username:   cfg.Sentinel.Username,
			Password:   string(cfg.Sentinel.Password),
		}
	}
	return sender.New(sc)
}

// sendFunc returns what the batcher calls with each batch of messages. With compression the
// batch is packed into envelopes first; the sender writes them all or none, like the
// messages of an uncompressed batch.
func sendFunc(cfg *Config, s *sender.Sender) batcher.SendFunc {
	if cfg.Compression != compressionLZ4 {
		return s.Send
	}
	packer := envelope.NewPacker(cfg.MaxEnvelopeSize)
	return func(ctx context.Context, batch [][]byte) error {
		return s.Send(ctx, packer.Pack(batch))
	}
}
