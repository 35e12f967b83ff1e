package plumelogexporter // import "github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter"

import (
	"errors"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/batcher"
	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/confcheck"
	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/encoder"
	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/sender"
)

// Config defines the configuration of the Plumelog exporter. Its keys are flat in YAML, as
// Plumelog users know them, and grouped here by concern: each group is squashed into the top
// level and checks its own keys (see package confcheck); Validate joins their checks and adds
// those that span groups.
type Config struct {
	// Redis is where Redis is and how to log in: endpoint, sentinel, cluster, username,
	// password, db and the timeouts.
	Redis sender.Config `mapstructure:",squash"`
	// TLS configures TLS to Redis, and to the sentinels; plain TCP unless insecure is false,
	// a CA is given, or the endpoint is a rediss:// URL.
	TLS configtls.ClientConfig `mapstructure:"tls"`
	// Lists is where the messages go: the Redis lists and their format.
	Lists ListsConfig `mapstructure:",squash"`
	// Message is how a record becomes a Plumelog message.
	Message MessageConfig `mapstructure:",squash"`
	// Batching is when batches leave, how failed ones are retried, and what is held meanwhile.
	Batching batcher.Config `mapstructure:",squash"`
	// QueueConfig puts the collector's sending queue in front of the batcher. With a storage
	// extension it is persistent: a record leaves it only after Redis accepted it.
	QueueConfig configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// ListsConfig names the Redis lists the Plumelog server drains and the format written there.
type ListsConfig struct {
	// Key is the Redis list of plain run-log messages.
	Key string `mapstructure:"key"`
	// TraceKey is the Redis list of plain trace events.
	TraceKey string `mapstructure:"trace_key"`
	// Compression is "none" (one element per message, in Key and TraceKey) or "lz4" (one LZ4
	// envelope per batch, in CompressedKey and TraceCompressedKey); it must match the
	// server's plumelog.redis.compressor.
	Compression string `mapstructure:"compression"`
	// CompressedKey is the Redis list of run-log envelopes the server drains in its
	// compressed mode.
	CompressedKey string `mapstructure:"compressed_key"`
	// TraceCompressedKey is the same for trace events.
	TraceCompressedKey string `mapstructure:"trace_compressed_key"`
	// MaxEnvelopeSize caps the text of one envelope, in bytes before compression; a larger
	// batch is split into several envelopes, written all or nothing.
	MaxEnvelopeSize int `mapstructure:"max_envelope_size"`
}

// MessageConfig is what a message takes from the configuration rather than the record.
type MessageConfig struct {
	// AppName and Env are used when a record's attributes carry none.
	AppName string `mapstructure:"app_name"`
	Env     string `mapstructure:"env"`
	// ServerName is used when a record's attributes name no host; empty means the collector
	// host's first non-loopback IPv4, as Plumelog's Java client sends.
	ServerName string `mapstructure:"server_name"`
	// Timezone is the IANA zone of the display-only dateTime field ("Local" for the host's zone).
	Timezone string `mapstructure:"timezone"`
	// MaxContentSize caps the content field in bytes; longer content is cut with a visible
	// marker. 0 means no limit.
	MaxContentSize int `mapstructure:"max_content_size"`
	// Mapping names the attributes each Plumelog field is read from.
	Mapping encoder.Mapping `mapstructure:"mapping"`
	// Fields selects the other attributes that become extension fields, and folds the rest
	// of those kept into one text field.
	Fields encoder.Fields `mapstructure:"fields"`
}

var (
	_ component.Config  = (*Config)(nil)
	_ confmap.Validator = (*Config)(nil)
)

// Validate checks every group, then the combinations across them. Each error names its key.
func (cfg *Config) Validate() error {
	errs := []error{cfg.Redis.Check(), cfg.Lists.check(), cfg.Message.check(), cfg.Batching.Check()}
	if cfg.Batching.Buffer.MaxRecords > 0 && cfg.Batching.Buffer.MaxRecords < cfg.Batching.BatchSize {
		errs = append(errs, confcheck.Errorf("buffer::max_records", "(%d) must be at least batch_size (%d)",
			cfg.Batching.Buffer.MaxRecords, cfg.Batching.BatchSize))
	}
	if cfg.Redis.TLSRefused() && tlsEnabled(cfg.TLS) {
		errs = append(errs, confcheck.Errorf("endpoint", `is a redis:// URL, which is plain TCP, but "tls" turns TLS on: write rediss:// for TLS`))
	}
	if q := cfg.QueueConfig.Get(); q != nil && q.Batch.HasValue() {
		errs = append(errs, confcheck.Errorf("sending_queue::batch",
			"must not be set: the exporter batches itself, and the queue's batches would merge requests whose records must be acknowledged one request at a time"))
	}
	return errors.Join(errs...)
}

const (
	compressionNone = "none"
	compressionLZ4  = "lz4"
	// maxEnvelopeSize keeps an envelope well below Redis's 512 MB limit on one value: base64
	// makes the compressed text a third larger, and incompressible text does not shrink.
	maxEnvelopeSize = 256 << 20
)

func (l ListsConfig) check() error {
	var errs []error
	add := func(key, format string, args ...any) { errs = append(errs, confcheck.Errorf(key, format, args...)) }
	for key, list := range map[string]string{"key": l.Key, "trace_key": l.TraceKey} {
		if list == "" {
			add(key, "must not be empty")
		}
	}
	switch l.Compression {
	case compressionNone:
	case compressionLZ4:
		for key, list := range map[string]string{"compressed_key": l.CompressedKey, "trace_compressed_key": l.TraceCompressedKey} {
			if list == "" {
				add(key, "must not be empty with compression %q", compressionLZ4)
			}
		}
	default:
		add("compression", "must be %q or %q, got %q", compressionNone, compressionLZ4, l.Compression)
	}
	if l.MaxEnvelopeSize <= 0 || l.MaxEnvelopeSize > maxEnvelopeSize {
		add("max_envelope_size", "must be between 1 and %d (256 MiB), got %d", maxEnvelopeSize, l.MaxEnvelopeSize)
	}
	return errors.Join(errs...)
}

func (m MessageConfig) check() error {
	errs := []error{confcheck.Within("mapping", m.Mapping.Check()), confcheck.Within("fields", m.Fields.Check())}
	add := func(key, format string, args ...any) { errs = append(errs, confcheck.Errorf(key, format, args...)) }
	if m.AppName == "" {
		add("app_name", "must not be empty: Plumelog rejects messages without an appName")
	}
	if m.Env == "" {
		add("env", "must not be empty")
	}
	if _, err := time.LoadLocation(m.Timezone); err != nil {
		add("timezone", "%q is not a known time zone", m.Timezone)
	}
	if m.MaxContentSize < 0 {
		add("max_content_size", "must not be negative, got %d", m.MaxContentSize)
	}
	return errors.Join(errs...)
}
