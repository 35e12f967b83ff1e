package e2e

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plumelog-otel/otelcol-plumelog/internal/otelcoltest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/redistest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/testenv"
)

const alertRules = "../docs/alerts/plumelog-exporter.rules.yml"

// TestAlertRules checks the alert rules with promtool and runs their unit tests.
func TestAlertRules(t *testing.T) {
	promtool := testenv.Program(t, "promtool")
	for _, args := range [][]string{
		{"check", "rules", "plumelog-exporter.rules.yml"},
		{"test", "rules", "plumelog-exporter.rules.test.yml"},
	} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = "../docs/alerts"
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "promtool %s:\n%s", strings.Join(args, " "), out)
	}
}

// TestAlertRulesMetricsExist scrapes a collector with the default telemetry level whose
// exporters deliver, drop, retry and refuse, and checks that every metric the alert rules
// read is there under that exact name.
func TestAlertRulesMetricsExist(t *testing.T) {
	raw, err := os.ReadFile(alertRules)
	require.NoError(t, err)
	names := map[string]bool{}
	for _, n := range regexp.MustCompile(`otelcol_[a-z_]+`).FindAllString(string(raw), -1) {
		names[n] = true
	}
	require.NotEmpty(t, names)

	srv := redistest.Start(t)
	down := testenv.Addr(t)
	col := startExample(t, "quick-start/config.yaml", nil, func(cfg map[string]any) {
		otelcoltest.Set(cfg, "exporters", map[string]any{
			"plumelog": map[string]any{"endpoint": srv.Addr},
			"plumelog/down": map[string]any{"endpoint": down, "max_retries": 1,
				"backoff": map[string]any{"initial_interval": "10ms", "max_interval": "20ms"}},
			// Holds its first 10 records through a backoff longer than the sending, short
			// enough for the flush at shutdown.
			"plumelog/full": map[string]any{"endpoint": down, "batch_size": 10, "max_retries": 1,
				"buffer":  map[string]any{"max_records": 10},
				"backoff": map[string]any{"initial_interval": "5s", "max_interval": "5s"}},
		})
		otelcoltest.Set(cfg, "service::pipelines::logs::exporters", []any{"plumelog", "plumelog/down", "plumelog/full"})
	})
	client := newSDKClient(t, col.GRPC, false)
	for i := range 5 {
		// The full exporter refuses all but its first 10 records; the others still get them.
		_ = client.Export(context.Background(), client.Records(i*10, 10))
	}

	deadline := time.Now().Add(60 * time.Second)
	for {
		m, err := col.Scrape()
		require.NoError(t, err)
		var missing []string
		for n := range names {
			if !hasMetric(m, n) {
				missing = append(missing, n)
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			assert.Empty(t, missing, "metrics the alert rules read but the collector does not export")
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func hasMetric(m map[string]float64, name string) bool {
	for series := range m {
		if series == name || strings.HasPrefix(series, name+"{") {
			return true
		}
	}
	return false
}
