// Package e2e drives the built otelcol-plumelog binary with real OTLP clients and checks what
// lands in a real Redis against the Plumelog wire contract.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/plumelog-otel/otelcol-plumelog/internal/plumelogtest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/redistest"
)

// binary returns the path in the environment variable env, which `make test` sets. Without
// it the test is skipped, except with CI=true, where it fails.
func binary(t *testing.T, env string) string {
	t.Helper()
	path := os.Getenv(env)
	if path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set; run the tests with `make test`", env)
		}
		t.Skipf("%s is not set; `make test` builds it and sets it", env)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s=%s: %v", env, path, err)
	}
	return path
}

// collector is a running otelcol-plumelog process.
type collector struct {
	GRPC    string // OTLP/gRPC host:port
	HTTP    string // OTLP/HTTP host:port
	Metrics string // the collector's own Prometheus metrics, host:port
	Health  string // URL of the health_check extension's status

	args   []string
	cmd    *exec.Cmd
	output *syncBuffer
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

// setup is what a test changes in the collector's config and command line.
type setup struct {
	// exporter is the plumelog exporter's settings, indented under `plumelog:`.
	exporter string
	// extensions are more extensions, indented under `extensions:`, and extensionIDs the
	// names the service enables.
	extensions   string
	extensionIDs []string
	// componentHealth makes health_check report component status, so that the exporter's
	// recoverable errors show on it.
	componentHealth bool
}

// startCollector writes a config with the plumelog exporter's settings in exporterYAML
// (indented under `plumelog:`), starts the binary and waits until it is healthy.
func startCollector(t *testing.T, exporterYAML string) *collector {
	t.Helper()
	return startCollectorWith(t, setup{exporter: exporterYAML})
}

// startCollectorWith starts the binary with the config s describes and waits until it is
// healthy.
func startCollectorWith(t *testing.T, s setup) *collector {
	t.Helper()
	c := &collector{
		GRPC:    loopback(t),
		HTTP:    loopback(t),
		Metrics: loopback(t),
		output:  &syncBuffer{},
	}
	health := loopback(t)
	_, metricsPort, _ := net.SplitHostPort(c.Metrics)
	healthYAML := fmt.Sprintf(`
  health_check:
    endpoint: %s`, health)
	c.Health = "http://" + health + "/"
	if s.componentHealth {
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
      recovery_duration: 1ms`, health)
		c.Health = "http://" + health + "/status"
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
`, healthYAML, s.extensions, c.GRPC, c.HTTP, s.exporter,
		strings.Join(append([]string{"health_check"}, s.extensionIDs...), ", "), metricsPort)
	path := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(path, []byte(config), 0o600))
	c.args = append(c.args, "--config", path)

	t.Cleanup(func() {
		c.Stop(t)
		if t.Failed() {
			t.Logf("collector output:\n%s", c.output.String())
		}
	})
	c.start(t)
	return c
}

// start runs the binary and waits until it is healthy.
func (c *collector) start(t *testing.T) {
	t.Helper()
	c.cmd = exec.Command(binary(t, "PLUMELOG_COLLECTOR"), c.args...)
	c.cmd.Stdout, c.cmd.Stderr = c.output, c.output
	require.NoError(t, c.cmd.Start())
	c.done = make(chan error, 1)
	go func(cmd *exec.Cmd, done chan error) { done <- cmd.Wait() }(c.cmd, c.done)

	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(c.Health)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case err := <-c.done:
			c.done <- err
			t.Fatalf("collector exited at start: %v\n%s", err, c.output.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("collector not healthy within 60s:\n%s", c.output.String())
		}
	}
}

// Stop sends SIGTERM and waits for the collector to exit (it flushes what it holds).
func (c *collector) Stop(t *testing.T) {
	if c.cmd == nil || c.cmd.Process == nil {
		return
	}
	_ = c.cmd.Process.Signal(os.Interrupt)
	select {
	case <-c.done:
	case <-time.After(60 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
		t.Errorf("collector did not stop within 60s of SIGTERM")
	}
	c.cmd = nil
}

// Kill ends the collector with SIGKILL, as a crash would: nothing is flushed.
func (c *collector) Kill(t *testing.T) {
	t.Helper()
	require.NoError(t, c.cmd.Process.Kill())
	<-c.done
	c.cmd = nil
}

// Restart starts the collector again, with the same config, ports and storage, after Kill
// or Stop.
func (c *collector) Restart(t *testing.T) {
	t.Helper()
	fmt.Fprintf(c.output, "\n---- restart ----\n")
	c.start(t)
}

func loopback(t *testing.T) string {
	return "127.0.0.1:" + strconv.Itoa(redistest.FreePort(t))
}

// waitForLen waits until the list holds want elements, then a little longer to catch extra
// (duplicated) elements, and returns all elements.
func waitForLen(t *testing.T, rdb *redis.Client, key string, want int) []string {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(90 * time.Second)
	for {
		n, err := rdb.LLen(ctx, key).Result()
		require.NoError(t, err)
		if n >= int64(want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s holds %d of %d elements after 90s", key, n, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	all, err := rdb.LRange(ctx, key, 0, -1).Result()
	require.NoError(t, err)
	return all
}

// checkAll checks every element against the contract and returns the decoded messages.
func checkAll(t *testing.T, elements []string) []map[string]any {
	t.Helper()
	msgs := make([]map[string]any, len(elements))
	for i, e := range elements {
		msg, err := plumelogtest.CheckRunLog([]byte(e))
		require.NoError(t, err, "element %d: %s", i, e)
		msgs[i] = msg
	}
	return msgs
}
