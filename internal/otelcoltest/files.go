package otelcoltest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Collector config files as they are shipped (examples/, packaging/), read, changed and started
// as they are.

// LoadConfig reads a collector config file (e.g. one under examples/) into a map that Set
// changes and StartConfig starts.
func LoadConfig(path string) (map[string]any, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

// Set sets the value at a key path written as in the collector's own messages,
// "exporters::plumelog::endpoint", creating the maps on the way.
func Set(cfg map[string]any, path string, v any) {
	keys := strings.Split(path, "::")
	m := cfg
	for _, k := range keys[:len(keys)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	m[keys[len(keys)-1]] = v
}

// Get returns the value at a key path, or nil.
func Get(cfg map[string]any, path string) any {
	var v any = cfg
	for _, k := range strings.Split(path, "::") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// StartConfig starts the binary bin with the config cfg, written to dir, and the environment
// variables env ("KEY=value") added to the test's, and waits until it is healthy. It moves what
// listens onto free loopback ports: the health_check extension (added when cfg has none), the
// OTLP receiver's protocols and the collector's own Prometheus metrics. On error nothing is
// left running.
func StartConfig(bin, dir string, cfg map[string]any, env []string) (*Collector, error) {
	return startOnFreePorts(bin, dir, func(c *Collector) ([]byte, error) {
		c.env = env
		Set(cfg, "extensions::health_check::endpoint", c.healthAddr)
		if exts, _ := Get(cfg, "service::extensions").([]any); !slices.Contains(exts, any("health_check")) {
			Set(cfg, "service::extensions", append(exts, "health_check"))
		}
		if Get(cfg, "receivers::otlp") != nil {
			Set(cfg, "receivers::otlp::protocols::grpc::endpoint", c.GRPC)
			Set(cfg, "receivers::otlp::protocols::http::endpoint", c.HTTP)
		}
		_, port, _ := net.SplitHostPort(c.Metrics)
		metricsPort, err := strconv.Atoi(port)
		if err != nil {
			return nil, err
		}
		Set(cfg, "service::telemetry::metrics::readers", []any{map[string]any{
			"pull": map[string]any{"exporter": map[string]any{"prometheus": map[string]any{
				"host": "127.0.0.1", "port": metricsPort,
			}}},
		}})
		return yaml.Marshal(cfg)
	})
}

// Validate runs the binary's `validate` command on the config file at path with the
// environment variables env added, and returns its output with the error.
func Validate(bin, path string, env []string) error {
	cmd := exec.Command(bin, "validate", "--config", path)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return errors.Join(err, fmt.Errorf("%s", out))
	}
	return nil
}
