package plumelogexporter // import "github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter"

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/batcher"
	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/sender"
)

// Config defines the configuration of the Plumelog exporter.
type Config struct {
	// Endpoint is the address of a standalone Redis: host:port, or the path of a unix socket
	// (absolute, or with a unix:// prefix). Empty means localhost:6379, unless Sentinel or
	// Cluster is set, which name the servers instead.
	Endpoint string `mapstructure:"endpoint"`
	// Sentinel finds the master through Redis Sentinel.
	Sentinel SentinelConfig `mapstructure:"sentinel"`
	// Cluster writes to a Redis Cluster.
	Cluster ClusterConfig `mapstructure:"cluster"`
	// Username is the Redis ACL user; empty means the default user.
	Username string `mapstructure:"username"`
	// Password authenticates with Redis (AUTH).
	Password configopaque.String `mapstructure:"password"`
	// DB is the Redis logical database the Plumelog server reads.
	DB int `mapstructure:"db"`
	// TLS configures TLS to Redis, and to the sentinels; plain TCP unless insecure is false
	// or a CA is given.
	TLS configtls.ClientConfig `mapstructure:"tls"`
	// DialTimeout, ReadTimeout and WriteTimeout bound each Redis connection attempt and command.
	DialTimeout  time.Duration `mapstructure:"dial_timeout"`
	ReadTimeout  time.Duration `mapstructure:"read_timeout"`
	WriteTimeout time.Duration `mapstructure:"write_timeout"`

	// Key is the Redis list of plain messages the Plumelog server drains.
	Key string `mapstructure:"key"`
	// Compression is "none" (one element per message, in Key) or "lz4" (one LZ4 envelope per
	// batch, in CompressedKey); it must match the server's plumelog.redis.compressor.
	Compression string `mapstructure:"compression"`
	// CompressedKey is the Redis list of envelopes the Plumelog server drains in its
	// compressed mode.
	CompressedKey string `mapstructure:"compressed_key"`
	// MaxEnvelopeSize caps the text of one envelope, in bytes before compression; a larger
	// batch is split into several envelopes, written all or nothing.
	MaxEnvelopeSize int `mapstructure:"max_envelope_size"`

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
	Mapping MappingConfig `mapstructure:"mapping"`

	// BatchSize is the most records in one batch; a full batch leaves at once.
	BatchSize int `mapstructure:"batch_size"`
	// FlushInterval is the longest a record waits in a batch that is not full.
	FlushInterval time.Duration `mapstructure:"flush_interval"`
	// Mode selects when a batch that is neither full nor old leaves: "eager" sends what is
	// pending whenever no flush is in flight, "strict" waits for batch_size or flush_interval.
	Mode string `mapstructure:"mode"`
	// MinLinger is, in eager mode, the least time the oldest record waits before an idle flush.
	MinLinger time.Duration `mapstructure:"min_linger"`
	// MaxInFlight is the number of batches sent at once; 1 keeps records in order.
	MaxInFlight int `mapstructure:"max_in_flight"`

	// MaxRetries is how often a record is sent again after a transient failure before it is
	// dropped and counted.
	MaxRetries int `mapstructure:"max_retries"`
	// Backoff spaces the retries.
	Backoff BackoffConfig `mapstructure:"backoff"`

	// Buffer bounds the records the exporter holds.
	Buffer BufferConfig `mapstructure:"buffer"`

	// QueueConfig puts the collector's sending queue in front of the batcher. With a storage
	// extension it is persistent: a record leaves it only after Redis accepted it.
	QueueConfig configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// SentinelConfig locates the master through Redis Sentinel.
type SentinelConfig struct {
	// MasterName is the name the sentinels monitor the master under.
	MasterName string `mapstructure:"master_name"`
	// Addresses are the sentinels' host:port addresses.
	Addresses []string `mapstructure:"addresses"`
	// Username and Password authenticate with the sentinels, which may differ from the
	// master's own username and password.
	Username string              `mapstructure:"username"`
	Password configopaque.String `mapstructure:"password"`

	_ struct{}
}

func (s SentinelConfig) isSet() bool {
	return s.MasterName != "" || len(s.Addresses) > 0 || s.Username != "" || s.Password != ""
}

// ClusterConfig points at a Redis Cluster.
type ClusterConfig struct {
	// Addresses are host:port addresses of some cluster nodes; the others are discovered.
	Addresses []string `mapstructure:"addresses"`

	_ struct{}
}

// MappingConfig lists, per Plumelog field, the attribute keys it is read from, first match
// wins. Record attributes are consulted before resource attributes.
type MappingConfig struct {
	AppName    []string `mapstructure:"app_name"`
	Env        []string `mapstructure:"env"`
	ServerName []string `mapstructure:"server_name"`
	ClassName  []string `mapstructure:"class_name"`
	Method     []string `mapstructure:"method"`
	ThreadName []string `mapstructure:"thread_name"`
	Stacktrace []string `mapstructure:"stacktrace"`

	_ struct{}
}

// BackoffConfig is the exponential backoff between attempts.
type BackoffConfig struct {
	InitialInterval time.Duration `mapstructure:"initial_interval"`
	MaxInterval     time.Duration `mapstructure:"max_interval"`
	Multiplier      float64       `mapstructure:"multiplier"`
	// Jitter randomizes each wait within ±Jitter of its value (0 to 1).
	Jitter float64 `mapstructure:"jitter"`

	_ struct{}
}

// BufferConfig bounds the records held by the exporter: pending, in flight and awaiting retry.
type BufferConfig struct {
	MaxRecords int `mapstructure:"max_records"`
	MaxBytes   int `mapstructure:"max_bytes"`
	// BlockTimeout is how long a full buffer makes the pipeline wait for room before the
	// exporter returns a retryable error; 0 returns the error at once.
	BlockTimeout time.Duration `mapstructure:"block_timeout"`

	_ struct{}
}

var (
	_ component.Config  = (*Config)(nil)
	_ confmap.Validator = (*Config)(nil)
)

// Validate checks the configuration and names every offending key.
func (cfg *Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	errs = append(errs, cfg.validateTopology()...)
	if cfg.DB < 0 {
		add(`"db" must not be negative, got %d`, cfg.DB)
	}
	for _, t := range []struct {
		key string
		d   time.Duration
	}{{"dial_timeout", cfg.DialTimeout}, {"read_timeout", cfg.ReadTimeout}, {"write_timeout", cfg.WriteTimeout}} {
		if t.d < 0 {
			add("%q must not be negative, got %s", t.key, t.d)
		}
	}
	if cfg.Key == "" {
		add(`"key" must not be empty`)
	}
	switch cfg.Compression {
	case compressionNone:
	case compressionLZ4:
		if cfg.CompressedKey == "" {
			add(`"compressed_key" must not be empty with compression %q`, compressionLZ4)
		}
	default:
		add(`"compression" must be %q or %q, got %q`, compressionNone, compressionLZ4, cfg.Compression)
	}
	if cfg.MaxEnvelopeSize <= 0 || cfg.MaxEnvelopeSize > maxEnvelopeSize {
		add(`"max_envelope_size" must be between 1 and %d (256 MiB), got %d`, maxEnvelopeSize, cfg.MaxEnvelopeSize)
	}
	if cfg.AppName == "" {
		add(`"app_name" must not be empty: Plumelog rejects messages without an appName`)
	}
	if cfg.Env == "" {
		add(`"env" must not be empty`)
	}
	if _, err := time.LoadLocation(cfg.Timezone); err != nil {
		add(`"timezone" %q is not a known time zone`, cfg.Timezone)
	}
	if cfg.MaxContentSize < 0 {
		add(`"max_content_size" must not be negative, got %d`, cfg.MaxContentSize)
	}
	if cfg.BatchSize <= 0 {
		add(`"batch_size" must be positive, got %d`, cfg.BatchSize)
	}
	if cfg.FlushInterval <= 0 {
		add(`"flush_interval" must be positive, got %s`, cfg.FlushInterval)
	}
	switch batcher.Mode(cfg.Mode) {
	case batcher.ModeEager, batcher.ModeStrict:
	default:
		add(`"mode" must be %q or %q, got %q`, batcher.ModeEager, batcher.ModeStrict, cfg.Mode)
	}
	if cfg.MinLinger < 0 || (cfg.FlushInterval > 0 && cfg.MinLinger > cfg.FlushInterval) {
		add(`"min_linger" must be between 0 and flush_interval, got %s`, cfg.MinLinger)
	}
	if cfg.MaxInFlight <= 0 {
		add(`"max_in_flight" must be positive, got %d`, cfg.MaxInFlight)
	}
	if cfg.MaxRetries < 0 {
		add(`"max_retries" must not be negative, got %d`, cfg.MaxRetries)
	}
	if b := cfg.Backoff; b.InitialInterval <= 0 {
		add(`"backoff::initial_interval" must be positive, got %s`, b.InitialInterval)
	} else if b.MaxInterval < b.InitialInterval {
		add(`"backoff::max_interval" must be at least backoff::initial_interval, got %s`, b.MaxInterval)
	}
	if cfg.Backoff.Multiplier < 1 {
		add(`"backoff::multiplier" must be at least 1, got %g`, cfg.Backoff.Multiplier)
	}
	if j := cfg.Backoff.Jitter; j < 0 || j > 1 {
		add(`"backoff::jitter" must be between 0 and 1, got %g`, j)
	}
	if cfg.Buffer.MaxRecords <= 0 {
		add(`"buffer::max_records" must be positive, got %d`, cfg.Buffer.MaxRecords)
	} else if cfg.Buffer.MaxRecords < cfg.BatchSize {
		add(`"buffer::max_records" (%d) must be at least batch_size (%d)`, cfg.Buffer.MaxRecords, cfg.BatchSize)
	}
	if cfg.Buffer.MaxBytes <= 0 {
		add(`"buffer::max_bytes" must be positive, got %d`, cfg.Buffer.MaxBytes)
	}
	if cfg.Buffer.BlockTimeout < 0 {
		add(`"buffer::block_timeout" must not be negative, got %s`, cfg.Buffer.BlockTimeout)
	}
	for _, m := range []struct {
		key  string
		keys []string
	}{
		{"app_name", cfg.Mapping.AppName}, {"env", cfg.Mapping.Env}, {"server_name", cfg.Mapping.ServerName},
		{"class_name", cfg.Mapping.ClassName}, {"method", cfg.Mapping.Method},
		{"thread_name", cfg.Mapping.ThreadName}, {"stacktrace", cfg.Mapping.Stacktrace},
	} {
		if slices.Contains(m.keys, "") {
			add(`"mapping::%s" must not contain an empty attribute key`, m.key)
		}
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

// validateTopology checks that exactly one of endpoint, sentinel and cluster names the Redis
// servers, and that each is complete.
func (cfg *Config) validateTopology() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	sentinel, cluster := cfg.Sentinel.isSet(), len(cfg.Cluster.Addresses) > 0
	switch {
	case sentinel && cluster:
		add(`"sentinel" and "cluster" exclude each other: set the one that matches the Redis the Plumelog server reads`)
	case sentinel && cfg.Endpoint != "":
		add(`"endpoint" must be empty with "sentinel": the sentinels name the master, list them in sentinel::addresses`)
	case cluster && cfg.Endpoint != "":
		add(`"endpoint" must be empty with "cluster": list the cluster's nodes in cluster::addresses`)
	}
	if sentinel {
		if cfg.Sentinel.MasterName == "" {
			add(`"sentinel::master_name" must be set: it is the server's plumelog.queue.redis.sentinel.masterName`)
		}
		if len(cfg.Sentinel.Addresses) == 0 {
			add(`"sentinel::addresses" must list the sentinels (host:port, usually port 26379)`)
		}
		errs = append(errs, checkAddresses("sentinel::addresses", cfg.Sentinel.Addresses)...)
	}
	if cluster {
		if cfg.DB != 0 {
			add(`"db" must be 0 with "cluster": Redis Cluster has only database 0, got %d`, cfg.DB)
		}
		errs = append(errs, checkAddresses("cluster::addresses", cfg.Cluster.Addresses)...)
	}
	if cfg.Endpoint != "" {
		if strings.Contains(cfg.Endpoint, ",") {
			add(`"endpoint" %q holds several addresses: list sentinels in sentinel::addresses, cluster nodes in cluster::addresses`, cfg.Endpoint)
		} else if _, unix := sender.UnixSocketPath(cfg.Endpoint); !unix && !isHostPort(cfg.Endpoint) {
			add(`"endpoint" %q is neither host:port nor a unix socket path`, cfg.Endpoint)
		}
	}
	return errs
}

func checkAddresses(key string, addrs []string) []error {
	var errs []error
	for _, a := range addrs {
		if !isHostPort(a) {
			hint := ""
			if strings.Contains(a, ",") {
				hint = " (one address per list entry)"
			}
			errs = append(errs, fmt.Errorf("%q entry %q is not host:port%s", key, a, hint))
		}
	}
	return errs
}

func isHostPort(addr string) bool {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return false
	}
	n, err := strconv.Atoi(port)
	return err == nil && n > 0 && n <= 65535
}
