package otelcoltest

import (
	"maps"
	"slices"
	"strings"

	"go.opentelemetry.io/collector/confmap"
	"go.yaml.in/yaml/v3"
)

// Settings are a component's settings keyed as its documentation writes them: a key may name
// a nested key with "::", e.g. "backoff::initial_interval" or "sending_queue::storage".
type Settings map[string]any

// Nested returns the settings with every "::" key spelled out as nested maps, as YAML holds
// them. Nested Settings are spelled out too.
func (s Settings) Nested() map[string]any {
	out := map[string]any{}
	for _, k := range slices.Sorted(maps.Keys(s)) {
		v := s[k]
		if inner, ok := v.(Settings); ok {
			v = inner.Nested()
		}
		path := strings.Split(k, confmap.KeyDelimiter)
		m := out
		for _, p := range path[:len(path)-1] {
			next, ok := m[p].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[p] = next
			}
			m = next
		}
		m[path[len(path)-1]] = v
	}
	return out
}

// Decode sets what the settings name in cfg, a component's Config holding its defaults, the
// way the collector reads its config file.
func (s Settings) Decode(cfg any) error {
	return confmap.NewFromStringMap(s.Nested()).Unmarshal(cfg)
}

// Config is what a caller changes in the collector's config and command line.
type Config struct {
	// Exporter is the plumelog exporter's settings.
	Exporter Settings
	// Extensions are more extensions by ID, with their settings; the service enables each.
	Extensions map[string]Settings
	// ComponentHealth makes health_check report component status, so that the exporter's
	// recoverable errors show on it.
	ComponentHealth bool
	// Traces adds a traces pipeline through the same exporter beside the logs pipeline.
	Traces bool
	// Overrides are merged over the config from the top (e.g. "service::telemetry::logs::level"):
	// maps merge, any other value replaces the one it meets, so
	// "service::pipelines::logs::exporters": ["debug"] takes the plumelog exporter out.
	Overrides Settings
}

// yaml is the collector config file: an OTLP receiver on the collector's ports, the plumelog
// exporter in a logs pipeline (and a traces pipeline with cfg.Traces), health_check, and the
// collector's own metrics in detail on its Prometheus port.
func (c *Collector) yaml(cfg Config) ([]byte, error) {
	extensions := map[string]any{"health_check": c.healthCheck(cfg.ComponentHealth).Nested()}
	ids := []string{"health_check"}
	for _, id := range slices.Sorted(maps.Keys(cfg.Extensions)) {
		extensions[id] = cfg.Extensions[id].Nested()
		ids = append(ids, id)
	}
	pipelines := map[string]any{"logs": map[string]any{"receivers": []string{"otlp"}, "exporters": []string{"plumelog"}}}
	if cfg.Traces {
		pipelines["traces"] = map[string]any{"receivers": []string{"otlp"}, "exporters": []string{"plumelog"}}
	}
	config := map[string]any{
		"extensions": extensions,
		"receivers": map[string]any{"otlp": map[string]any{"protocols": map[string]any{
			"grpc": map[string]any{"endpoint": c.GRPC},
			"http": map[string]any{"endpoint": c.HTTP},
		}}},
		"exporters": map[string]any{"plumelog": cfg.Exporter.Nested()},
		"service": map[string]any{
			"extensions": ids,
			"telemetry": map[string]any{
				// Every "Dropped records" line counts: the default samples repeated lines.
				"logs": map[string]any{"sampling": map[string]any{"enabled": false}},
				"metrics": map[string]any{
					"level": "detailed",
					"readers": []any{map[string]any{"pull": map[string]any{"exporter": map[string]any{
						"prometheus": map[string]any{"host": "127.0.0.1", "port": portNumber(c.Metrics)},
					}}}},
				},
			},
			"pipelines": pipelines,
		},
	}
	merge(config, cfg.Overrides.Nested())
	return yaml.Marshal(config)
}

// healthCheck configures the health_check extension on the collector's health address.
func (c *Collector) healthCheck(componentHealth bool) Settings {
	if !componentHealth {
		return Settings{"endpoint": c.healthAddr}
	}
	return Settings{
		"http::endpoint":                               c.healthAddr,
		"http::status::enabled":                        true,
		"http::status::path":                           "/status",
		"component_health::include_recoverable_errors": true,
		"component_health::recovery_duration":          "1ms",
	}
}

// merge sets what src holds in dst: maps merge key by key, other values replace.
func merge(dst, src map[string]any) {
	for k, v := range src {
		if sub, ok := v.(map[string]any); ok {
			if into, ok := dst[k].(map[string]any); ok {
				merge(into, sub)
				continue
			}
		}
		dst[k] = v
	}
}
