package plumelogexporter

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/metadata"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)

	custom := createDefaultConfig().(*Config)
	custom.Endpoint = "redis.internal:6380"
	custom.Username = "plumelog"
	custom.Password = "s3cret"
	custom.DB = 2
	custom.TLS.Insecure = false
	custom.TLS.CAFile = "/etc/ssl/redis-ca.pem"
	custom.DialTimeout = 2 * time.Second
	custom.ReadTimeout = time.Second
	custom.WriteTimeout = 1500 * time.Millisecond
	custom.Key = "plume_log_list_custom"
	custom.AppName = "order-svc"
	custom.Env = "prod"
	custom.ServerName = "10.0.0.12"
	custom.Timezone = "Asia/Shanghai"
	custom.MaxContentSize = 65536
	custom.Mapping.AppName = []string{"app", "service.name"}
	custom.Mapping.ThreadName = []string{"thread.name", "thread.id"}
	custom.BatchSize = 500
	custom.FlushInterval = 500 * time.Millisecond
	custom.Mode = "strict"
	custom.MaxInFlight = 4
	custom.MaxRetries = 10
	custom.Backoff = BackoffConfig{InitialInterval: 50 * time.Millisecond, MaxInterval: 2 * time.Second, Multiplier: 1.5, Jitter: 0.5}
	custom.Buffer = BufferConfig{MaxRecords: 20000, MaxBytes: 1 << 20, BlockTimeout: 250 * time.Millisecond}

	sentinel := createDefaultConfig().(*Config)
	sentinel.Sentinel = SentinelConfig{
		MasterName: "plumelog",
		Addresses:  []string{"10.0.0.1:26379", "10.0.0.2:26379", "10.0.0.3:26379"},
		Username:   "sentinel-user",
		Password:   "sentinel-s3cret",
	}
	sentinel.Password = "s3cret"
	sentinel.DB = 1

	cluster := createDefaultConfig().(*Config)
	cluster.Cluster.Addresses = []string{"10.0.1.1:6379", "10.0.1.2:6379"}
	cluster.Username = "plumelog"
	cluster.Password = "s3cret"
	cluster.TLS.Insecure = false
	cluster.TLS.CAPem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
	cluster.TLS.ServerName = "redis.internal"

	lz4 := createDefaultConfig().(*Config)
	lz4.Endpoint = "unix:///run/redis/redis.sock"
	lz4.Compression = "lz4"
	lz4.CompressedKey = "plume_log_list_compress_custom"
	lz4.MaxEnvelopeSize = 1 << 20

	for _, tt := range []struct {
		id       component.ID
		expected *Config
	}{
		{component.NewID(metadata.Type), createDefaultConfig().(*Config)},
		{component.NewIDWithName(metadata.Type, "custom"), custom},
		{component.NewIDWithName(metadata.Type, "sentinel"), sentinel},
		{component.NewIDWithName(metadata.Type, "cluster"), cluster},
		{component.NewIDWithName(metadata.Type, "lz4"), lz4},
	} {
		t.Run(tt.id.String(), func(t *testing.T) {
			cfg := createDefaultConfig()
			sub, err := cm.Sub(tt.id.String())
			require.NoError(t, err)
			require.NoError(t, sub.Unmarshal(cfg))
			require.NoError(t, confmap.Validate(cfg))
			assert.Equal(t, tt.expected, cfg)
		})
	}
}

func TestConfigValidateRejects(t *testing.T) {
	for _, tt := range []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"blank endpoint", func(c *Config) { c.Endpoint = " " }, `"endpoint" " " is neither host:port nor a unix socket path`},
		{"endpoint without port", func(c *Config) { c.Endpoint = "redis.internal" }, `"endpoint" "redis.internal" is neither host:port`},
		{"endpoint with several addresses", func(c *Config) { c.Endpoint = "a:6379,b:6379" }, `"endpoint" "a:6379,b:6379" holds several addresses`},
		{"endpoint and sentinel", func(c *Config) {
			c.Endpoint = "redis:6379"
			c.Sentinel = SentinelConfig{MasterName: "m", Addresses: []string{"s:26379"}}
		}, `"endpoint" must be empty with "sentinel"`},
		{"endpoint and cluster", func(c *Config) {
			c.Endpoint = "redis:6379"
			c.Cluster.Addresses = []string{"n:6379"}
		}, `"endpoint" must be empty with "cluster"`},
		{"sentinel and cluster", func(c *Config) {
			c.Sentinel = SentinelConfig{MasterName: "m", Addresses: []string{"s:26379"}}
			c.Cluster.Addresses = []string{"n:6379"}
		}, `"sentinel" and "cluster" exclude each other`},
		{"sentinel without master name", func(c *Config) { c.Sentinel.Addresses = []string{"s:26379"} }, `"sentinel::master_name" must be set`},
		{"sentinel password alone", func(c *Config) { c.Sentinel.Password = "x" }, `"sentinel::master_name" must be set`},
		{"master name without sentinels", func(c *Config) { c.Sentinel.MasterName = "m" }, `"sentinel::addresses" must list the sentinels`},
		{"sentinel addresses as one string", func(c *Config) {
			c.Sentinel = SentinelConfig{MasterName: "m", Addresses: []string{"s1:26379,s2:26379"}}
		}, `"sentinel::addresses" entry "s1:26379,s2:26379" is not host:port (one address per list entry)`},
		{"cluster address without port", func(c *Config) { c.Cluster.Addresses = []string{"n1:6379", "n2"} }, `"cluster::addresses" entry "n2" is not host:port`},
		{"cluster with a database", func(c *Config) {
			c.Cluster.Addresses = []string{"n:6379"}
			c.DB = 2
		}, `"db" must be 0 with "cluster"`},
		{"unknown compression", func(c *Config) { c.Compression = "gzip" }, `"compression" must be "none" or "lz4", got "gzip"`},
		{"lz4 without compressed key", func(c *Config) {
			c.Compression = "lz4"
			c.CompressedKey = ""
		}, `"compressed_key" must not be empty`},
		{"zero envelope size", func(c *Config) { c.MaxEnvelopeSize = 0 }, `"max_envelope_size" must be between 1 and`},
		{"huge envelope size", func(c *Config) { c.MaxEnvelopeSize = 1 << 30 }, `"max_envelope_size"`},
		{"negative db", func(c *Config) { c.DB = -1 }, `"db"`},
		{"negative dial timeout", func(c *Config) { c.DialTimeout = -time.Second }, `"dial_timeout"`},
		{"negative read timeout", func(c *Config) { c.ReadTimeout = -time.Second }, `"read_timeout"`},
		{"negative write timeout", func(c *Config) { c.WriteTimeout = -time.Second }, `"write_timeout"`},
		{"empty key", func(c *Config) { c.Key = "" }, `"key"`},
		{"empty app name", func(c *Config) { c.AppName = "" }, `"app_name"`},
		{"empty env", func(c *Config) { c.Env = "" }, `"env"`},
		{"unknown time zone", func(c *Config) { c.Timezone = "Mars/Olympus" }, `"timezone" "Mars/Olympus"`},
		{"negative max content size", func(c *Config) { c.MaxContentSize = -1 }, `"max_content_size"`},
		{"zero batch size", func(c *Config) { c.BatchSize = 0 }, `"batch_size" must be positive`},
		{"negative batch size", func(c *Config) { c.BatchSize = -5 }, `"batch_size" must be positive`},
		{"zero flush interval", func(c *Config) { c.FlushInterval = 0 }, `"flush_interval" must be positive`},
		{"unknown mode", func(c *Config) { c.Mode = "lazy" }, `"mode"`},
		{"negative min linger", func(c *Config) { c.MinLinger = -time.Millisecond }, `"min_linger"`},
		{"min linger above flush interval", func(c *Config) { c.MinLinger = time.Hour }, `"min_linger"`},
		{"zero in flight", func(c *Config) { c.MaxInFlight = 0 }, `"max_in_flight"`},
		{"negative retries", func(c *Config) { c.MaxRetries = -1 }, `"max_retries" must not be negative`},
		{"zero initial backoff", func(c *Config) { c.Backoff.InitialInterval = 0 }, `"backoff::initial_interval"`},
		{"max backoff below initial", func(c *Config) { c.Backoff.MaxInterval = time.Millisecond }, `"backoff::max_interval"`},
		{"multiplier below one", func(c *Config) { c.Backoff.Multiplier = 0.5 }, `"backoff::multiplier"`},
		{"jitter above one", func(c *Config) { c.Backoff.Jitter = 1.5 }, `"backoff::jitter"`},
		{"negative jitter", func(c *Config) { c.Backoff.Jitter = -0.1 }, `"backoff::jitter"`},
		{"zero buffer records", func(c *Config) { c.Buffer.MaxRecords = 0 }, `"buffer::max_records" must be positive`},
		{"buffer smaller than a batch", func(c *Config) { c.Buffer.MaxRecords = 10 }, `"buffer::max_records" (10) must be at least batch_size (100)`},
		{"zero buffer bytes", func(c *Config) { c.Buffer.MaxBytes = 0 }, `"buffer::max_bytes"`},
		{"negative block timeout", func(c *Config) { c.Buffer.BlockTimeout = -time.Second }, `"buffer::block_timeout"`},
		{"empty mapping key", func(c *Config) { c.Mapping.ThreadName = []string{"thread.name", ""} }, `"mapping::thread_name"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := createDefaultConfig().(*Config)
			tt.mutate(cfg)
			assert.ErrorContains(t, confmap.Validate(cfg), tt.want)
		})
	}
}

func TestConfigValidateJoinsEveryError(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Endpoint = "no-port"
	cfg.BatchSize = 0
	err := cfg.Validate()
	assert.ErrorContains(t, err, `"endpoint"`)
	assert.ErrorContains(t, err, `"batch_size"`)
}

func TestConfigAcceptsEveryTopology(t *testing.T) {
	for name, mutate := range map[string]func(*Config){
		"default":         func(*Config) {},
		"tcp":             func(c *Config) { c.Endpoint = "redis.internal:6380" },
		"ipv6":            func(c *Config) { c.Endpoint = "[::1]:6379" },
		"unix socket":     func(c *Config) { c.Endpoint = "/run/redis/redis.sock" },
		"unix socket URL": func(c *Config) { c.Endpoint = "unix:///run/redis/redis.sock" },
		"one sentinel":    func(c *Config) { c.Sentinel = SentinelConfig{MasterName: "m", Addresses: []string{"s:26379"}} },
		"sentinel with db": func(c *Config) {
			c.Sentinel = SentinelConfig{MasterName: "m", Addresses: []string{"s:26379"}}
			c.DB = 3
		},
		"cluster":           func(c *Config) { c.Cluster.Addresses = []string{"n1:6379", "n2:6379", "n3:6379"} },
		"lz4":               func(c *Config) { c.Compression = "lz4" },
		"lz4 tiny envelope": func(c *Config) { c.Compression = "lz4"; c.MaxEnvelopeSize = 1 },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := createDefaultConfig().(*Config)
			mutate(cfg)
			assert.NoError(t, cfg.Validate())
		})
	}
}

// TestConfigHidesSecrets marshals a configuration the way the collector prints it: no
// password appears.
func TestConfigHidesSecrets(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Password = "redis-s3cret"
	cfg.Sentinel = SentinelConfig{MasterName: "m", Addresses: []string{"s:26379"}, Password: "sentinel-s3cret"}
	conf := confmap.New()
	require.NoError(t, conf.Marshal(cfg))
	printed := fmt.Sprint(conf.ToStringMap())
	assert.NotContains(t, printed, "redis-s3cret")
	assert.NotContains(t, printed, "sentinel-s3cret")
	assert.Contains(t, printed, "[REDACTED]")
}
