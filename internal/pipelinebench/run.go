package main

import (
	"os"

	"github.com/redis/go-redis/v9"

	"github.com/plumelog-otel/otelcol-plumelog/internal/otelcoltest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/testenv"
)

// listKey is where the plumelog exporter writes run logs with its default settings.
const listKey = "plume_log_list"

// variant is one configuration of the collector's logs pipeline.
type variant struct {
	Key  string `json:"key"`
	Name string `json:"name"`
	// Exporter is the exporter of the pipelines: "debug" or "plumelog".
	Exporter string `json:"exporter"`
	// Settings are the plumelog exporter's settings beyond its endpoint.
	Settings map[string]any `json:"settings,omitempty"`
}

var variants = []variant{
	{Key: "debug", Name: "debug exporter", Exporter: "debug"},
	{Key: "plumelog", Name: "plumelog exporter", Exporter: "plumelog"},
	{Key: "plumelog_mif1", Name: "plumelog exporter, max_in_flight 1", Exporter: "plumelog", Settings: map[string]any{"max_in_flight": 1}},
}

func (v variant) plumelog() bool { return v.Exporter == "plumelog" }

// runResult is what one run measured over its load phase.
type runResult struct {
	Round   int    `json:"round"`
	Binary  string `json:"binary"`
	Variant string `json:"variant"`
	Records int    `json:"records"`
	// Seconds is from the first request until the last record was delivered: acknowledged by
	// the debug exporter, or in the Redis list for the plumelog exporter.
	Seconds      float64 `json:"seconds"`
	CollectorCPU float64 `json:"collector_cpu_seconds"`
	RedisCPU     float64 `json:"redis_cpu_seconds"`
	// Refused counts requests the collector refused as retryable and the senders sent again.
	Refused int64 `json:"refused_requests"`
	// RecordsPerBatch is the plumelog exporter's mean batch, warm-up included.
	RecordsPerBatch float64 `json:"records_per_batch,omitempty"`
	// LoadAverage is the machine's one-minute load average at the end of the run: how much
	// else competed for the CPUs, which inflates CPU time per record.
	LoadAverage float64 `json:"load_average"`
}

func (r runResult) collectorMicros() float64 { return r.CollectorCPU / float64(r.Records) * 1e6 }
func (r runResult) redisMicros() float64     { return r.RedisCPU / float64(r.Records) * 1e6 }
func (r runResult) perSecond() float64       { return float64(r.Records) / r.Seconds }

// stack is a redis-server and a collector sending to it, with the benchmark's senders.
type stack struct {
	dir     string
	redis   *otelcoltest.Redis
	rdb     *redis.Client
	col     *otelcoltest.Collector
	senders []*sender
	// pprof is the address of the collector's pprof extension, with -profile.
	pprof string
}

func startStack(bin string, v variant, o options) (*stack, error) {
	dir, err := os.MkdirTemp("", "pipelinebench-")
	if err != nil {
		return nil, err
	}
	s := &stack{dir: dir}
	if s.redis, err = otelcoltest.StartRedis(dir); err != nil {
		s.stop()
		return nil, err
	}
	s.rdb = redis.NewClient(&redis.Options{Addr: s.redis.Addr})
	cfg := collectorConfig(s.redis.Addr, v)
	if o.profile != "" {
		if s.pprof, err = testenv.FreeAddr(); err != nil {
			s.stop()
			return nil, err
		}
		cfg.Extensions = map[string]otelcoltest.Settings{"pprof": {"endpoint": s.pprof}}
	}
	if s.col, err = otelcoltest.Start(bin, dir, cfg); err != nil {
		s.stop()
		return nil, err
	}
	for i := range o.senders {
		snd, err := newSender(s.col.GRPC, i, o.batch)
		if err != nil {
			s.stop()
			return nil, err
		}
		s.senders = append(s.senders, snd)
	}
	return s, nil
}

// collectorConfig is the collector's config for a variant: the exporter's defaults but for its
// endpoint, the collector's default metrics level, and its own logs at warn, which keeps the
// debug exporter's line per request out of the measurement.
func collectorConfig(redisAddr string, v variant) otelcoltest.Config {
	exporters := []string{v.Exporter}
	settings := otelcoltest.Settings{"endpoint": redisAddr}
	for k, val := range v.Settings {
		settings[k] = val
	}
	return otelcoltest.Config{
		Exporter: settings,
		Overrides: otelcoltest.Settings{
			"exporters": map[string]any{"debug": map[string]any{"verbosity": "basic"}},
			"service": map[string]any{
				"telemetry": map[string]any{
					"logs":    map[string]any{"level": "warn"},
					"metrics": map[string]any{"level": "normal"},
				},
				// Logs only, so that a baseline from before the exporter took traces runs too.
				"pipelines": map[string]any{"logs": map[string]any{"exporters": exporters}},
			},
		},
	}
}

func (s *stack) stop() {
	for _, snd := range s.senders {
		snd.close()
	}
	if s.col != nil {
		_ = s.col.Stop()
	}
	if s.rdb != nil {
		_ = s.rdb.Close()
	}
	if s.redis != nil {
		s.redis.Stop()
	}
	_ = os.RemoveAll(s.dir)
}
