package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/plumelog-otel/otelcol-plumelog/internal/otelcoltest"
)

// configDirs hold every collector config the project ships, relative to this package (the
// packages' default config is the one collector config among packaging's files).
var configDirs = []string{"../examples", "../testdata", "../packaging/config.yaml"}

// exampleEnv are the environment variables the configs read without a default.
var exampleEnv = []string{"PLUMELOG_REDIS_PASSWORD=secret", "K8S_NODE_NAME=node-1"}

// shippedConfig is a collector config file, named after where the project ships it.
type shippedConfig struct{ name, path string }

// collectorConfigs returns every collector config in dir: each YAML file with a top-level
// `service`, and the config.yaml of each Kubernetes ConfigMap, written to tmp. A YAML
// document that is neither a collector config nor a Kubernetes object fails the test, so that
// no config is left unchecked by mistake.
func collectorConfigs(t *testing.T, dir, tmp string) []shippedConfig {
	t.Helper()
	var configs []shippedConfig
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && path == dir {
			return fs.SkipDir
		}
		if err != nil || d.IsDir() || (!strings.HasSuffix(path, ".yaml") && !strings.HasSuffix(path, ".yml")) {
			return err
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		dec := yaml.NewDecoder(bytes.NewReader(raw))
		for n := 0; ; n++ {
			var doc map[string]any
			if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
				return nil
			} else if err != nil {
				return err
			}
			switch {
			case doc["service"] != nil:
				configs = append(configs, shippedConfig{strings.TrimPrefix(path, "../"), path})
			case doc["kind"] == "ConfigMap":
				embedded, ok := otelcoltest.Get(doc, "data::config.yaml").(string)
				require.True(t, ok, "%s: ConfigMap %d has no data config.yaml", path, n)
				name := strings.TrimPrefix(path, "../") + "#" + fmt.Sprint(otelcoltest.Get(doc, "metadata::name"))
				out := filepath.Join(tmp, fmt.Sprintf("configmap-%d.yaml", len(configs)))
				require.NoError(t, os.WriteFile(out, []byte(embedded), 0o600))
				configs = append(configs, shippedConfig{name, out})
			case doc["kind"] != nil && doc["apiVersion"] != nil:
			default:
				t.Errorf("%s: document %d is neither a collector config nor a Kubernetes object", path, n)
			}
		}
	})
	require.NoError(t, err)
	return configs
}

// TestConfigsValidate runs the built binary's `validate` on every collector config under
// examples/, testdata/ and packaging/, including those inside Kubernetes ConfigMaps.
func TestConfigsValidate(t *testing.T) {
	bin := binary(t, "PLUMELOG_COLLECTOR")
	tmp := t.TempDir()
	var configs []shippedConfig
	for _, dir := range configDirs {
		configs = append(configs, collectorConfigs(t, dir, tmp)...)
	}
	examples, err := os.ReadDir(examplesDir)
	require.NoError(t, err)
	for _, e := range examples {
		if e.IsDir() {
			prefix := "examples/" + e.Name() + "/"
			require.True(t, slices.ContainsFunc(configs, func(c shippedConfig) bool {
				return strings.HasPrefix(c.name, prefix)
			}), "%s has no collector config", prefix)
		}
	}
	for _, c := range configs {
		t.Run(c.name, func(t *testing.T) {
			require.NoError(t, otelcoltest.Validate(bin, c.path, exampleEnv))
		})
	}

	// validate must really check: a config with a wrong exporter key fails.
	bad := filepath.Join(tmp, "bad.yaml")
	cfg, err := otelcoltest.LoadConfig(filepath.Join(examplesDir, "quick-start/config.yaml"))
	require.NoError(t, err)
	otelcoltest.Set(cfg, "exporters::plumelog::batch_size", 0)
	raw, err := yaml.Marshal(cfg)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(bad, raw, 0o600))
	require.ErrorContains(t, otelcoltest.Validate(bin, bad, exampleEnv), "batch_size")
}

// configMapConfig returns the collector config in the ConfigMap of the Kubernetes manifest at
// examples/<path>.
func configMapConfig(t *testing.T, path string) map[string]any {
	t.Helper()
	configs := collectorConfigs(t, filepath.Join(examplesDir, path), t.TempDir())
	require.Len(t, configs, 1, "%s: ConfigMaps", path)
	cfg, err := otelcoltest.LoadConfig(configs[0].path)
	require.NoError(t, err)
	return cfg
}
