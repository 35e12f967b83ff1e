package e2e

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/plumelog-otel/otelcol-plumelog/internal/otelcoltest"
)

// examplesDir is where the configs users copy live, relative to this package.
const examplesDir = "../examples"

// startExample starts the built collector with the example config at examples/<path>, after
// change has adapted it to the test (addresses, directories), and the environment variables
// env; it stops the collector when the test ends.
func startExample(t *testing.T, path string, env []string, change func(cfg map[string]any)) *collector {
	t.Helper()
	cfg, err := otelcoltest.LoadConfig(filepath.Join(examplesDir, path))
	require.NoError(t, err)
	return startConfig(t, cfg, env, change)
}

// startConfig is startExample for a config already loaded.
func startConfig(t *testing.T, cfg map[string]any, env []string, change func(cfg map[string]any)) *collector {
	t.Helper()
	if change != nil {
		change(cfg)
	}
	c, err := otelcoltest.StartConfig(binary(t, "PLUMELOG_COLLECTOR"), t.TempDir(), cfg, env)
	return started(t, c, err)
}
