package e2e

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/plumelog-otel/otelcol-plumelog/internal/otelcoltest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/plumelogtest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/redistest"
)

// validateExporter writes the quick-start config with the plumelog exporter's settings
// replaced by exporter, and runs the binary's `validate` on it.
func validateExporter(t *testing.T, exporter map[string]any) error {
	t.Helper()
	cfg, err := otelcoltest.LoadConfig(filepath.Join(examplesDir, "quick-start/config.yaml"))
	require.NoError(t, err)
	otelcoltest.Set(cfg, "exporters::plumelog", exporter)
	raw, err := yaml.Marshal(cfg)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(path, raw, 0o600))
	return otelcoltest.Validate(binary(t, "PLUMELOG_COLLECTOR"), path, nil)
}

// TestValidateTakesWhatRedisUsersType runs `validate` on the endpoint forms every Redis client
// takes, and on the mistakes the exporter refuses with a hint: a duration without a unit, and
// a URL that says one thing while a key says another. The password of a URL never shows.
func TestValidateTakesWhatRedisUsersType(t *testing.T) {
	for _, endpoint := range []string{
		"redis://localhost:6379",
		"rediss://cache.internal:6380/0",
		"redis://:secret@localhost:6379/2",
		"unix:///var/run/redis/redis.sock",
	} {
		t.Run(endpoint, func(t *testing.T) {
			require.NoError(t, validateExporter(t, map[string]any{"endpoint": endpoint}))
		})
	}
	for _, tt := range []struct {
		name     string
		exporter map[string]any
		want     string
	}{
		{"duration without a unit", map[string]any{"endpoint": "localhost:6379", "flush_interval": 5},
			`"flush_interval" is 5ns; durations need a unit, e.g. 5s`},
		{"backoff without a unit", map[string]any{"endpoint": "localhost:6379", "backoff": map[string]any{"initial_interval": 100}},
			`"backoff::initial_interval" is 100ns; durations need a unit, e.g. 100ms`},
		{"database twice", map[string]any{"endpoint": "redis://:s3cr3t-pw@localhost:6379/2", "db": 3},
			`selects database 2 and "db" selects 3`},
		{"password twice", map[string]any{"endpoint": "redis://:s3cr3t-pw@localhost:6379", "password": "other"},
			`holds a password and so does "password"`},
		{"TLS on a redis:// URL", map[string]any{"endpoint": "redis://localhost:6379", "tls": map[string]any{"insecure": false}},
			"write rediss:// for TLS"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := validateExporter(t, tt.exporter)
			require.ErrorContains(t, err, tt.want)
			assert.NotContains(t, err.Error(), "s3cr3t-pw")
		})
	}
}

// TestCollectorDeliversOverRedissURL starts the collector with a rediss:// endpoint that holds
// the password and database, against a Redis that speaks only TLS: TLS comes from the
// scheme, trust from the CA file, and the logs land in that database.
func TestCollectorDeliversOverRedissURL(t *testing.T) {
	ca := redistest.NewCA(t, "plumelog-e2e-ca")
	srv := redistest.StartTLS(t, ca, ca.Issue(t, "redis", "127.0.0.1"), "--tls-auth-clients", "no", "--requirepass", "pw-e2e-7")
	col := startCollector(t, otelcoltest.Settings{
		"endpoint": "rediss://:pw-e2e-7@" + srv.Addr + "/4",
		"tls":      map[string]any{"ca_file": ca.CertFile},
		"app_name": "fallback-app", "flush_interval": "100ms",
	})
	emitWithSDK(t, col.GRPC, 50)

	msgs := plumelogtest.Messages(t, waitForLen(t, srv.ClientOf(4), "plume_log_list", 50))
	require.Len(t, msgs, 50)
	assert.Equal(t, "checkout", msgs[0]["appName"])
	assert.NotContains(t, col.Output(), "pw-e2e-7", "the password never shows in the collector's output")
}
