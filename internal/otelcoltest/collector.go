// Package otelcoltest runs the built otelcol-plumelog binary on free loopback ports and sends
// it numbered log records with the OTel Go SDK, for the end-to-end tests, the soak tool and
// the pipeline benchmark; the tools, which run outside `go test`, start their redis-server
// with it too.
package otelcoltest // import "github.com/plumelog-otel/otelcol-plumelog/internal/otelcoltest"

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config is what a caller changes in the collector's config and command line.
type Config struct {
	// Exporter is the plumelog exporter's settings, indented under `plumelog:`.
	Exporter string
	// ExporterSettings are more settings of the plumelog exporter, keyed by their YAML keys
	// (nested maps for nested keys). They go to a config file of their own, which the
	// collector merges over the main one.
	ExporterSettings map[string]any
	// Overrides is more collector configuration keyed by its YAML keys from the top (nested
	// maps, e.g. service → telemetry → logs → level), in a file of its own that the collector
	// merges over the others: maps merge, a list replaces the list it meets, so
	// `service::pipelines::logs::exporters: [debug]` takes the plumelog exporter out.
	Overrides map[string]any
	// Extensions are more extensions, indented under `extensions:`, and ExtensionIDs the
	// names the service enables.
	Extensions   string
	ExtensionIDs []string
	// ComponentHealth makes health_check report component status, so that the exporter's
	// recoverable errors show on it.
	ComponentHealth bool
}

// Collector is a running otelcol-plumelog process.
type Collector struct {
	GRPC    string // OTLP/gRPC host:port
	HTTP    string // OTLP/HTTP host:port
	Metrics string // the collector's own Prometheus metrics, host:port
	Health  string // URL of the health_check extension's status

	bin    string
	args   []string
	cmd    *exec.Cmd
	output syncBuffer
	done   chan error
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// FreeAddr returns a loopback host:port that nothing listens on.
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// Start writes the config cfg describes to dir, starts the binary bin and waits until it is
// healthy. On error nothing is left running.
func Start(bin, dir string, cfg Config) (*Collector, error) {
	var addrs [4]string
	for i := range addrs {
		a, err := FreeAddr()
		if err != nil {
			return nil, err
		}
		addrs[i] = a
	}
	c := &Collector{GRPC: addrs[0], HTTP: addrs[1], Metrics: addrs[2], Health: "http://" + addrs[3] + "/", bin: bin}
	_, metricsPort, _ := net.SplitHostPort(c.Metrics)
	healthYAML := fmt.Sprintf(`
  health_check:
    endpoint: %s`, addrs[3])
	if cfg.ComponentHealth {
		// Component status drives the shared health check implementation only.
		c.args = append(c.args, "--feature-gates=+extension.healthcheck.useComponentStatus")
		healthYAML = fmt.Sprintf(`
  health_check:
    http:
      endpoint: %s
      status:
        enabled: true
        path: /status
    component_health:
      include_recoverable_errors: true
      recovery_duration: 1ms`, addrs[3])
		c.Health = "http://" + addrs[3] + "/status"
	}
	config := fmt.Sprintf(`
extensions:%s
%s
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: %s
      http:
        endpoint: %s
exporters:
  plumelog:
%s
service:
  extensions: [%s]
  telemetry:
    logs:
      # Every "Dropped log records" line counts: the default samples repeated lines.
      sampling:
        enabled: false
    metrics:
      level: detailed
      readers:
        - pull:
            exporter:
              prometheus:
                host: 127.0.0.1
                port: %s
  pipelines:
    logs:
      receivers: [otlp]
      exporters: [plumelog]
    traces:
      receivers: [otlp]
      exporters: [plumelog]
`, healthYAML, cfg.Extensions, c.GRPC, c.HTTP, cfg.Exporter,
		strings.Join(append([]string{"health_check"}, cfg.ExtensionIDs...), ", "), metricsPort)
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		return nil, err
	}
	c.args = append(c.args, "--config", path)
	if err := c.addConfigFiles(dir, cfg); err != nil {
		return nil, err
	}
	if err := c.start(); err != nil {
		return nil, err
	}
	return c, nil
}

// addConfigFiles writes the exporter's settings and the overrides, if there are any, to config
// files of their own for the collector to merge over the main one, in this order.
func (c *Collector) addConfigFiles(dir string, cfg Config) error {
	if cfg.ExporterSettings != nil {
		settings := map[string]any{"exporters": map[string]any{"plumelog": cfg.ExporterSettings}}
		if err := c.addConfigFile(filepath.Join(dir, "exporter.yaml"), settings); err != nil {
			return err
		}
	}
	if cfg.Overrides == nil {
		return nil
	}
	return c.addConfigFile(filepath.Join(dir, "overrides.yaml"), cfg.Overrides)
}

func (c *Collector) addConfigFile(path string, data map[string]any) error {
	text, err := yaml.Marshal(data)
	if err != nil {
		return err
	}
	c.args = append(c.args, "--config", path)
	return os.WriteFile(path, text, 0o600)
}

// start runs the binary and waits until it is healthy.
func (c *Collector) start() error {
	cmd := exec.Command(c.bin, c.args...)
	cmd.Stdout, cmd.Stderr = &c.output, &c.output
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", c.bin, err)
	}
	c.cmd, c.done = cmd, make(chan error, 1)
	// The channel is passed in because a restart replaces c.done.
	go func(done chan error) { done <- cmd.Wait() }(c.done)

	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(c.Health)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case err := <-c.done:
			c.cmd = nil
			return fmt.Errorf("collector exited at start: %v\n%s", err, c.Output())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = c.Kill()
			return fmt.Errorf("collector not healthy within 60s:\n%s", c.Output())
		}
	}
}

// Output returns what the collector wrote to stdout and stderr.
func (c *Collector) Output() string { return c.output.String() }

// Pid returns the process id of the running collector.
func (c *Collector) Pid() int { return c.cmd.Process.Pid }

// Terminate sends SIGTERM: the collector flushes what it holds, then exits; Wait waits for that.
func (c *Collector) Terminate() error { return c.cmd.Process.Signal(syscall.SIGTERM) }

// Wait waits for the collector to exit after Terminate, and kills it after 60s.
func (c *Collector) Wait() error {
	defer func() { c.cmd = nil }()
	select {
	case <-c.done:
		return nil
	case <-time.After(60 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
		return errors.New("collector did not stop within 60s of SIGTERM")
	}
}

// Stop terminates the collector and waits for it to exit, if it runs.
func (c *Collector) Stop() error {
	if c.cmd == nil {
		return nil
	}
	// A signal fails only when the process has exited already, which Wait then collects.
	_ = c.Terminate()
	return c.Wait()
}

// Kill ends the collector with SIGKILL, as a crash would: nothing is flushed.
func (c *Collector) Kill() error {
	err := c.cmd.Process.Kill()
	<-c.done
	c.cmd = nil
	return err
}

// Restart starts the collector again, with the same config, ports and storage, after Kill or
// Stop.
func (c *Collector) Restart() error {
	fmt.Fprintf(&c.output, "\n---- restart ----\n")
	return c.start()
}

// Scrape reads the collector's own metrics: series (name and labels) → value.
func (c *Collector) Scrape() (map[string]float64, error) {
	resp, err := http.Get("http://" + c.Metrics + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			return nil, fmt.Errorf("metric line %q: %w", line, err)
		}
		out[line[:i]] = v
	}
	return out, sc.Err()
}

// Sum adds up the series of the metric name in m whose labels contain every one of labels
// (e.g. `reason="shutdown"`).
func Sum(m map[string]float64, name string, labels ...string) float64 {
	var sum float64
series:
	for k, v := range m {
		if k != name && !strings.HasPrefix(k, name+"{") {
			continue
		}
		for _, l := range labels {
			if !strings.Contains(k, l) {
				continue series
			}
		}
		sum += v
	}
	return sum
}
