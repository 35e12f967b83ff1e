// Package e2e drives the built otelcol-plumelog binary with real OTLP clients and checks what
// lands in a real Redis against the Plumelog wire contract.
package e2e

import (
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/plumelog-otel/otelcol-plumelog/internal/otelcoltest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/redistest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/testenv"
)

// binary returns the path in the environment variable env, which `make test` sets.
func binary(t *testing.T, env string) string {
	t.Helper()
	path := os.Getenv(env)
	if path == "" {
		testenv.Missing(t, env+" is not set")
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s=%s: %v", env, path, err)
	}
	return path
}

// collector is a running otelcol-plumelog process with the tests' helpers.
type collector struct{ *otelcoltest.Collector }

// startCollector starts the binary with the plumelog exporter's settings and waits until it
// is healthy.
func startCollector(t *testing.T, exporter otelcoltest.Settings) *collector {
	t.Helper()
	return startCollectorWith(t, otelcoltest.Config{Exporter: exporter})
}

// startCollectorWith starts the binary with the config cfg describes and waits until it is
// healthy.
func startCollectorWith(t *testing.T, cfg otelcoltest.Config) *collector {
	t.Helper()
	c, err := otelcoltest.Start(binary(t, "PLUMELOG_COLLECTOR"), t.TempDir(), cfg)
	return started(t, c, err)
}

// started fails the test when the collector did not start, and otherwise stops it when the
// test ends, logging its output when the test failed.
func started(t *testing.T, c *otelcoltest.Collector, err error) *collector {
	t.Helper()
	require.NoError(t, err)
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("collector output:\n%s", c.Output())
		}
	})
	return &collector{c}
}

// scrape reads the collector's own metrics and returns the sum of the series of name whose
// labels contain every one of labels (e.g. `reason="shutdown"`).
func (c *collector) scrape(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	m, err := c.Scrape()
	require.NoError(t, err)
	return otelcoltest.Sum(m, name, labels...)
}

// waitForLen waits until the list holds want elements, then a little longer to catch extra
// (duplicated) elements, and returns all elements.
func waitForLen(t *testing.T, rdb *redis.Client, key string, want int) []string {
	t.Helper()
	redistest.WaitLen(t, rdb, key, want)
	time.Sleep(500 * time.Millisecond)
	return redistest.List(t, rdb, key)
}
