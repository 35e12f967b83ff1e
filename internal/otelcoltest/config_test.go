package otelcoltest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

func TestSettingsNested(t *testing.T) {
	s := Settings{
		"endpoint":                  "127.0.0.1:6379",
		"backoff::initial_interval": "50ms",
		"backoff::max_interval":     "1s",
		"tls":                       Settings{"ca_file": "ca.pem", "min::version": "1.3"},
		"tls::insecure":             false,
	}
	assert.Equal(t, map[string]any{
		"endpoint": "127.0.0.1:6379",
		"backoff":  map[string]any{"initial_interval": "50ms", "max_interval": "1s"},
		"tls":      map[string]any{"ca_file": "ca.pem", "min": map[string]any{"version": "1.3"}, "insecure": false},
	}, s.Nested())
}

func TestSettingsDecode(t *testing.T) {
	type backoff struct {
		Initial time.Duration `mapstructure:"initial_interval"`
		Max     time.Duration `mapstructure:"max_interval"`
	}
	cfg := struct {
		Endpoint string  `mapstructure:"endpoint"`
		Retries  int     `mapstructure:"max_retries"`
		Backoff  backoff `mapstructure:"backoff"`
	}{Endpoint: "default", Retries: 5}
	require.NoError(t, Settings{"backoff::initial_interval": "50ms", "backoff::max_interval": 2 * time.Second}.Decode(&cfg))
	assert.Equal(t, "default", cfg.Endpoint, "what the settings do not name keeps its default")
	assert.Equal(t, 5, cfg.Retries)
	assert.Equal(t, backoff{Initial: 50 * time.Millisecond, Max: 2 * time.Second}, cfg.Backoff)
}

// TestCollectorConfig reads back the config file the collector is started with.
func TestCollectorConfig(t *testing.T) {
	c := &Collector{GRPC: "127.0.0.1:1", HTTP: "127.0.0.1:2", Metrics: "127.0.0.1:3", healthAddr: "127.0.0.1:4"}
	data, err := c.yaml(Config{
		Exporter:   Settings{"endpoint": "127.0.0.1:6379", "sending_queue::storage": "file_storage"},
		Extensions: map[string]Settings{"file_storage": {"directory": "/tmp/q"}, "pprof": {"endpoint": "127.0.0.1:5"}},
	})
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, yaml.Unmarshal(data, &got))

	assert.Equal(t, map[string]any{
		"endpoint":      "127.0.0.1:6379",
		"sending_queue": map[string]any{"storage": "file_storage"},
	}, got["exporters"].(map[string]any)["plumelog"])
	assert.Equal(t, map[string]any{
		"health_check": map[string]any{"endpoint": "127.0.0.1:4"},
		"file_storage": map[string]any{"directory": "/tmp/q"},
		"pprof":        map[string]any{"endpoint": "127.0.0.1:5"},
	}, got["extensions"])
	service := got["service"].(map[string]any)
	assert.Equal(t, []any{"health_check", "file_storage", "pprof"}, service["extensions"])
	pipeline := map[string]any{"receivers": []any{"otlp"}, "exporters": []any{"plumelog"}}
	assert.Equal(t, map[string]any{"logs": pipeline}, service["pipelines"])
	prometheus := service["telemetry"].(map[string]any)["metrics"].(map[string]any)["readers"].([]any)[0]
	assert.Equal(t, map[string]any{"pull": map[string]any{"exporter": map[string]any{
		"prometheus": map[string]any{"host": "127.0.0.1", "port": 3},
	}}}, prometheus)
	assert.Equal(t, map[string]any{"grpc": map[string]any{"endpoint": "127.0.0.1:1"}, "http": map[string]any{"endpoint": "127.0.0.1:2"}},
		got["receivers"].(map[string]any)["otlp"].(map[string]any)["protocols"])
}
