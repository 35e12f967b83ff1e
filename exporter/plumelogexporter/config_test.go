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

	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/batcher"
	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/metadata"
	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/sender"
)

// expectedConfigs are the configurations testdata/config.yaml describes, by component ID.
func expectedConfigs() map[component.ID]*Config {
	custom := createDefaultConfig().(*Config)
	custom.Redis = sender.Config{
		Endpoint: "redis.internal:6380", Username: "plumelog", Password: "s3cret", DB: 2,
		DialTimeout: 2 * time.Second, ReadTimeout: time.Second, WriteTimeout: 1500 * time.Millisecond,
	}
	custom.TLS.Insecure = false
	custom.TLS.CAFile = "/etc/ssl/redis-ca.pem"
	custom.Lists.Key = "plume_log_list_custom"
	custom.Message.AppName = "order-svc"
	custom.Message.Env = "prod"
	custom.Message.ServerName = "10.0.0.12"
	custom.Message.Timezone = "Asia/Shanghai"
	custom.Message.MaxContentSize = 65536
	custom.Message.Mapping.AppName = []string{"app", "service.name"}
	custom.Message.Mapping.ThreadName = []string{"thread.name", "thread.id"}
	custom.Batching = batcher.Config{
		BatchSize: 500, FlushInterval: 500 * time.Millisecond, Mode: batcher.ModeStrict, MaxLinger: 20 * time.Millisecond,
		MaxInFlight: 4, MaxRetries: 10,
		Backoff: batcher.Backoff{InitialInterval: 50 * time.Millisecond, MaxInterval: 2 * time.Second, Multiplier: 1.5, Jitter: 0.5},
		Buffer:  batcher.Buffer{MaxRecords: 20000, MaxBytes: 1 << 20, BlockTimeout: 250 * time.Millisecond},
	}

	sentinel := createDefaultConfig().(*Config)
	sentinel.Redis.Sentinel = sender.Sentinel{
		MasterName: "plumelog",
		Addresses:  []string{"10.0.0.1:26379", "10.0.0.2:26379", "10.0.0.3:26379"},
		Username:   "sentinel-user",
		Password:   "sentinel-s3cret",
	}
	sentinel.Redis.Password = "s3cret"
	sentinel.Redis.DB = 1

	cluster := createDefaultConfig().(*Config)
	cluster.Redis.Cluster.Addresses = []string{"10.0.1.1:6379", "10.0.1.2:6379"}
	cluster.Redis.Username = "plumelog"
	cluster.Redis.Password = "s3cret"
	cluster.TLS.Insecure = false
	cluster.TLS.CAPem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
	cluster.TLS.ServerName = "redis.internal"

	lz4 := createDefaultConfig().(*Config)
	lz4.Redis.Endpoint = "unix:///run/redis/redis.sock"
	lz4.Lists.Compression = "lz4"
	lz4.Lists.CompressedKey = "plume_log_list_compress_custom"
	lz4.Lists.MaxEnvelopeSize = 1 << 20

	url := createDefaultConfig().(*Config)
	url.Redis.Endpoint = "rediss://:s3cret@cache.internal:6380/2"

	return map[component.ID]*Config{
		component.NewID(metadata.Type):                     createDefaultConfig().(*Config),
		component.NewIDWithName(metadata.Type, "custom"):   custom,
		component.NewIDWithName(metadata.Type, "sentinel"): sentinel,
		component.NewIDWithName(metadata.Type, "cluster"):  cluster,
		component.NewIDWithName(metadata.Type, "lz4"):      lz4,
		component.NewIDWithName(metadata.Type, "url"):      url,
	}
}

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	for id, expected := range expectedConfigs() {
		t.Run(id.String(), func(t *testing.T) {
			cfg := createDefaultConfig()
			sub, err := cm.Sub(id.String())
			require.NoError(t, err)
			require.NoError(t, sub.Unmarshal(cfg))
			require.NoError(t, confmap.Validate(cfg))
			assert.Equal(t, expected, cfg)
		})
	}
}

// invalidConfigs are collector configurations as users write them, each with the error
// that must name what is wrong. The groups' own checks are tested beside them; these show
// that each group is checked, with the path of the key it reports, and the checks that span
// groups.
var invalidConfigs = []struct {
	name string
	yaml map[string]any
	want string
}{
	{"connection", map[string]any{"endpoint": "redis.internal"}, `"endpoint" "redis.internal" is neither host:port`},
	{"sentinel block", map[string]any{"sentinel": map[string]any{"addresses": []any{"s:26379"}}}, `"sentinel::master_name" must be set`},
	{"lists", map[string]any{"compression": "gzip"}, `"compression" must be "none" or "lz4", got "gzip"`},
	{"message", map[string]any{"app_name": ""}, `"app_name" must not be empty`},
	{"time zone", map[string]any{"timezone": "Mars/Olympus"}, `"timezone" "Mars/Olympus" is not a known time zone`},
	{"mapping block", map[string]any{"mapping": map[string]any{"thread_name": []any{"thread.name", ""}}}, `"mapping::thread_name" must not contain an empty attribute key`},
	{"fields rules", map[string]any{"fields": map[string]any{"record": map[string]any{"allow": []any{"*", ""}}}}, `"fields::record::allow" must not contain an empty pattern`},
	{"fields cap", map[string]any{"fields": map[string]any{"max_fields": -1}}, `"fields::max_fields" must be between 0 and 1000, got -1`},
	{"fold key", map[string]any{"fields": map[string]any{"fold_key": "otel.attributes"}}, `"fields::fold_key" "otel.attributes" must be letters, digits`},
	{"batching", map[string]any{"batch_size": 0}, `"batch_size" must be positive`},
	{"duration without unit", map[string]any{"flush_interval": 5}, `"flush_interval" is 5ns; durations need a unit, e.g. 5s`},
	{"backoff without unit", map[string]any{"backoff": map[string]any{"initial_interval": 100}}, `"backoff::initial_interval" is 100ns; durations need a unit, e.g. 100ms`},
	{"timeout without unit", map[string]any{"write_timeout": 3}, `"write_timeout" is 3ns; durations need a unit, e.g. 3s`},
	{"buffer block", map[string]any{"buffer": map[string]any{"max_bytes": 0}}, `"buffer::max_bytes" must be positive`},
	{"buffer smaller than a batch", map[string]any{"buffer": map[string]any{"max_records": 10}}, `"buffer::max_records" (10) must be at least batch_size (500)`},
	{"plain URL with TLS", map[string]any{"endpoint": "redis://cache:6379", "tls": map[string]any{"insecure": false}}, `"endpoint" is a redis:// URL, which is plain TCP, but "tls" turns TLS on`},
	{"URL and password", map[string]any{"endpoint": "redis://:pw-Zq81@cache:6379", "password": "other"}, `"endpoint" holds a password and so does "password"`},
	{"queue batching", map[string]any{"sending_queue": map[string]any{"batch": map[string]any{}}}, `"sending_queue::batch" must not be set`},
}

func TestConfigValidateRejects(t *testing.T) {
	for _, tt := range invalidConfigs {
		t.Run(tt.name, func(t *testing.T) {
			cfg := createDefaultConfig()
			require.NoError(t, confmap.NewFromStringMap(tt.yaml).Unmarshal(cfg))
			err := confmap.Validate(cfg)
			require.ErrorContains(t, err, tt.want)
			assert.NotContains(t, err.Error(), "pw-Zq81")
		})
	}
}

func TestConfigValidateJoinsEveryError(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Redis.Endpoint = "no-port"
	cfg.Batching.BatchSize = 0
	cfg.Lists.Key = ""
	err := confmap.Validate(cfg)
	require.ErrorContains(t, err, `"endpoint"`)
	require.ErrorContains(t, err, `"batch_size"`)
	assert.ErrorContains(t, err, `"key"`)
}

// TestConfigHidesSecrets marshals a configuration the way the collector prints it: no
// password appears.
func TestConfigHidesSecrets(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Redis.Password = "redis-s3cret"
	cfg.Redis.Sentinel = sender.Sentinel{MasterName: "m", Addresses: []string{"s:26379"}, Password: "sentinel-s3cret"}
	conf := confmap.New()
	require.NoError(t, conf.Marshal(cfg))
	printed := fmt.Sprint(conf.ToStringMap())
	assert.NotContains(t, printed, "redis-s3cret")
	assert.NotContains(t, printed, "sentinel-s3cret")
	assert.Contains(t, printed, "[REDACTED]")

	cfg = createDefaultConfig().(*Config)
	cfg.Redis.Endpoint = "redis://:url-s3cret@cache:6379"
	conf = confmap.New()
	require.NoError(t, conf.Marshal(cfg))
	assert.NotContains(t, fmt.Sprint(conf.ToStringMap()), "url-s3cret")
}
