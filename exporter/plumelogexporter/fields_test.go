package plumelogexporter

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/metadatatest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/plumelogtest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/redistest"
)

// configFrom returns the default configuration with settings, keyed as users write them,
// unmarshalled over it and validated.
func configFrom(t *testing.T, settings map[string]any) *Config {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	require.NoError(t, confmap.NewFromStringMap(settings).Unmarshal(cfg))
	require.NoError(t, confmap.Validate(cfg))
	return cfg
}

// marshalled returns cfg as the collector prints it, to read its settings by their keys.
func marshalled(t *testing.T, cfg *Config) *confmap.Conf {
	t.Helper()
	conf := confmap.New()
	require.NoError(t, conf.Marshal(cfg))
	return conf
}

func TestFieldsDefaults(t *testing.T) {
	conf := marshalled(t, configFrom(t, nil))
	assert.Equal(t, []any{"*"}, conf.Get("fields::record::allow"))
	assert.Contains(t, conf.Get("fields::resource::allow"), "service.version")
	assert.Contains(t, conf.Get("fields::resource::allow"), "k8s.pod.name")
	assert.Contains(t, conf.Get("fields::resource::deny"), "telemetry.*")
	assert.EqualValues(t, 32, conf.Get("fields::max_fields"))
	assert.Equal(t, "attributes", conf.Get("fields::fold_key"))
}

// TestFieldsListReplacesDefault shows what a user gets who writes one list: it replaces that
// default list, and the other defaults stay.
func TestFieldsListReplacesDefault(t *testing.T) {
	conf := marshalled(t, configFrom(t, map[string]any{
		"fields": map[string]any{"resource": map[string]any{"allow": []any{"*"}}, "max_fields": 8},
	}))
	assert.Equal(t, []any{"*"}, conf.Get("fields::resource::allow"))
	assert.Contains(t, conf.Get("fields::resource::deny"), "telemetry.*", "the default deny-list still applies")
	assert.EqualValues(t, 8, conf.Get("fields::max_fields"))
}

// TestExporterAppliesFields sends records through an exporter configured by its YAML keys and
// checks the fields that arrive in Redis.
func TestExporterAppliesFields(t *testing.T) {
	srv := redistest.Start(t)
	cfg := configFrom(t, map[string]any{
		"endpoint":       srv.Addr,
		"flush_interval": "100ms",
		"fields": map[string]any{
			"record":     map[string]any{"allow": []any{"*"}, "deny": []any{"password"}, "fold": []any{"session.*"}},
			"resource":   map[string]any{"allow": []any{"*"}},
			"max_fields": 3,
			"fold_key":   "extra",
		},
	})
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	exp, err := NewFactory().CreateLogs(context.Background(), metadatatest.NewSettings(tel), cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))

	ld := fieldsTestLogs()
	require.NoError(t, exp.ConsumeLogs(context.Background(), ld))
	rdb := srv.Client()
	require.Eventually(t, func() bool { return rdb.LLen(context.Background(), "plume_log_list").Val() == 3 },
		10*time.Second, 10*time.Millisecond)
	require.NoError(t, exp.Shutdown(context.Background()))

	elements, err := rdb.LRange(context.Background(), "plume_log_list", 0, -1).Result()
	require.NoError(t, err)
	var index plumelogtest.IndexKeys
	msgs := make([]map[string]any, len(elements))
	for i, e := range elements {
		msgs[i], err = plumelogtest.CheckRunLog([]byte(e))
		require.NoError(t, err, e)
		require.NoError(t, index.Add(msgs[i]), e)
	}
	for _, e := range elements {
		assert.NotContains(t, e, "telemetry", "the default deny-list still applies to allow: [*]")
	}
	assert.Equal(t, "timeout", msgs[0]["error"])
	assert.Equal(t, "alice", msgs[0]["user"])
	assert.Equal(t, "order-7d9f", msgs[0]["k8s_pod_name"])
	assert.NotContains(t, msgs[0], "extra", "three fields fit")
	assert.Equal(t, "Timeout", msgs[1]["error_type"])
	assert.Equal(t, "u-1", msgs[1]["user_id"])
	assert.NotContains(t, elements[1], "hunter2")
	assert.Equal(t, "session.id=s-1", msgs[1]["extra"])
	assert.Equal(t, "d=4 k8s.pod.name=order-7d9f", msgs[2]["extra"], "past max_fields, folded")
}

// fieldsTestLogs is one resource with three records: plain keys, dotted keys with a denied
// and a folded one, and more fields than max_fields lets through.
func fieldsTestLogs() plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "order-svc")
	rl.Resource().Attributes().PutStr("telemetry.sdk.language", "go")
	rl.Resource().Attributes().PutStr("k8s.pod.name", "order-7d9f")
	sl := rl.ScopeLogs().AppendEmpty()
	for _, attrs := range [][]string{
		{"error", "timeout", "user", "alice"},
		{"error.type", "Timeout", "user.id", "u-1", "password", "hunter2", "session.id", "s-1"},
		{"a", "1", "b", "2", "c", "3", "d", "4"},
	} {
		lr := sl.LogRecords().AppendEmpty()
		lr.Body().SetStr("x")
		for i := 0; i < len(attrs); i += 2 {
			lr.Attributes().PutStr(attrs[i], attrs[i+1])
		}
	}
	return ld
}
