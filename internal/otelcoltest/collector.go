// Package otelcoltest runs the built otelcol-plumelog binary on free loopback ports, with a
// config built from Go data, and sends it numbered log records with the OTel Go SDK, for the
// end-to-end tests and the soak tool. Its Settings, keyed as the documentation writes them,
// also configure the exporter in process (the exporter's tests and the load benchmark).
package otelcoltest // import "github.com/plumelog-otel/otelcol-plumelog/internal/otelcoltest"

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/plumelog-otel/otelcol-plumelog/internal/testenv"
)

// exit is the end of one run of the binary: done is closed once it has exited, with err.
type exit struct {
	done chan struct{}
	err  error
}

// Collector is a running otelcol-plumelog process.
type Collector struct {
	GRPC    string // OTLP/gRPC host:port
	HTTP    string // OTLP/HTTP host:port
	Metrics string // the collector's own Prometheus metrics, host:port
	Health  string // URL of the health_check extension's status

	healthAddr string
	bin        string
	args       []string
	env        []string // added to the test's environment
	cmd        *exec.Cmd
	output     syncBuffer
	exit       *exit
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

// Start writes the config cfg describes to dir, starts the binary bin on free loopback ports
// and waits until it is healthy. On error nothing is left running; when the collector exits
// at start, the error holds its output.
func Start(bin, dir string, cfg Config) (*Collector, error) {
	return startOnFreePorts(bin, dir, func(c *Collector) ([]byte, error) {
		if cfg.ComponentHealth {
			// Component status drives the shared health check implementation only.
			c.args = append(c.args, "--feature-gates=+extension.healthcheck.useComponentStatus")
			c.Health = "http://" + c.healthAddr + "/status"
		}
		return c.yaml(cfg)
	})
}

// startAttempts is how often a start is tried, each time on new ports: a port found free can
// be taken by another process (a test running beside) before the collector binds it.
const startAttempts = 3

// errPortTaken marks a start that failed because a port was taken before the collector bound it.
var errPortTaken = errors.New("a port was taken before the collector bound it")

// startOnFreePorts starts the collector whose config configure writes for its ports, and
// starts it again on new ports when one of them was taken meanwhile.
func startOnFreePorts(bin, dir string, configure func(*Collector) ([]byte, error)) (*Collector, error) {
	var errs []error
	for range startAttempts {
		c, err := onFreePorts(bin)
		if err != nil {
			return nil, err
		}
		config, err := configure(c)
		if err != nil {
			return nil, err
		}
		err = c.run(dir, config)
		if err == nil {
			return c, nil
		}
		if !errors.Is(err, errPortTaken) {
			return nil, err
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

// freeAddr finds the collector's ports; tests replace it.
var freeAddr = testenv.FreeAddr

// onFreePorts returns a collector of the binary bin, not yet started, with a free loopback
// address for each thing it listens on.
func onFreePorts(bin string) (*Collector, error) {
	var addrs [4]string
	for i := range addrs {
		a, err := freeAddr()
		if err != nil {
			return nil, err
		}
		addrs[i] = a
	}
	return &Collector{
		GRPC: addrs[0], HTTP: addrs[1], Metrics: addrs[2],
		Health: "http://" + addrs[3] + "/", healthAddr: addrs[3], bin: bin,
	}, nil
}

// run writes config to dir and starts the collector on it. On error nothing is left running.
func (c *Collector) run(dir string, config []byte) error {
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, config, 0o600); err != nil {
		return err
	}
	c.args = append(c.args, "--config", path)
	return c.start()
}

// start runs the binary and waits until it is healthy.
func (c *Collector) start() error {
	cmd := exec.Command(c.bin, c.args...)
	cmd.Env = append(os.Environ(), c.env...)
	cmd.Stdout, cmd.Stderr = &c.output, &c.output
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", c.bin, err)
	}
	// Each run has an exit of its own: a restart replaces c.exit.
	x := &exit{done: make(chan struct{})}
	c.cmd, c.exit = cmd, x
	go func() {
		x.err = cmd.Wait()
		close(x.done)
	}()

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
		case <-x.done:
			c.cmd = nil
			out := c.Output()
			if strings.Contains(out, "address already in use") {
				return fmt.Errorf("collector exited at start: %w: %w\n%s", errPortTaken, x.err, out)
			}
			return fmt.Errorf("collector exited at start: %w\n%s", x.err, out)
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
	// The exit status says nothing more: a collector that fails to shut down cleanly says so
	// in its output, which the tests read.
	select {
	case <-c.exit.done:
		return nil
	case <-time.After(60 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.exit.done
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
	<-c.exit.done
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

// portNumber returns the port of a host:port address as a number.
func portNumber(addr string) int {
	n, _ := strconv.Atoi(testenv.Port(addr))
	return n
}
