package plumelogexporter

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/confmap"

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

	for _, tt := range []struct {
		id       component.ID
		expected *Config
	}{
		{component.NewID(metadata.Type), createDefaultConfig().(*Config)},
		{component.NewIDWithName(metadata.Type, "custom"), custom},
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
		{"empty endpoint", func(c *Config) { c.Endpoint = " " }, `"endpoint" must not be empty`},
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
	cfg.Endpoint = ""
	cfg.BatchSize = 0
	err := cfg.Validate()
	assert.ErrorContains(t, err, `"endpoint"`)
	assert.ErrorContains(t, err, `"batch_size"`)
}
