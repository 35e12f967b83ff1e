// Package redistest starts real Redis processes on free loopback ports for tests: standalone
// servers, TLS-only servers with a throwaway CA, replicas with Sentinel, and Redis Clusters.
// Launch starts a standalone server for a program that is not a test (the soak tool).
//
// When a program is not installed the test is skipped, except with CI=true, where a missing
// program is a failure: CI must never pass by testing nothing.
package redistest // import "github.com/plumelog-otel/otelcol-plumelog/internal/redistest"

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/plumelog-otel/otelcol-plumelog/internal/testenv"
)

// Process is one redis-server process.
type Process struct {
	// Addr is host:port on 127.0.0.1.
	Addr string
	// Dir is the server's working directory, where its log is.
	Dir string

	args []string
	// tls is how the owner itself reaches a server that only speaks TLS.
	tls  *tls.Config
	proc *process
}

// Launch starts redis-server in dir on a free loopback port, with extra config directives,
// and waits until it answers. The caller stops it.
func Launch(dir string, args ...string) (*Process, error) {
	return startOnFreePort(func(addr string) *Process { return &Process{Addr: addr, Dir: dir, args: args} })
}

// portAttempts is how often a server is started, each time on a new port: a port found free
// can be taken by another process (a test running beside) before the server binds it.
const portAttempts = 3

// startOnFreePort starts the server that build describes for a free loopback address, and
// again on another address when the port was taken before the server bound it.
func startOnFreePort(build func(addr string) *Process) (*Process, error) {
	var errs []error
	for range portAttempts {
		addr, err := testenv.FreeAddr()
		if err != nil {
			return nil, err
		}
		p := build(addr)
		err = p.start()
		if err == nil {
			return p, nil
		}
		if !strings.Contains(err.Error(), "Address already in use") {
			return nil, err
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

// start runs the server, not saving anything to disk, and waits until it answers.
func (p *Process) start() error {
	args := append([]string{
		"--port", testenv.Port(p.Addr), "--bind", "127.0.0.1", "--dir", p.Dir,
		"--save", "", "--appendonly", "no", "--daemonize", "no",
		"--logfile", filepath.Join(p.Dir, "redis.log"),
	}, p.args...)
	proc, err := spawn("redis-server", args, filepath.Join(p.Dir, "redis.log"))
	if err != nil {
		return err
	}
	p.proc = proc

	c := redis.NewClient(&redis.Options{Addr: p.Addr, MaxRetries: -1, TLSConfig: p.tls})
	defer c.Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := c.Ping(context.Background()).Err()
		if err == nil || redis.IsAuthError(err) {
			return nil
		}
		if exited := proc.exited("redis-server"); exited != nil {
			p.proc = nil
			return exited
		}
		if time.Now().After(deadline) {
			p.Stop()
			return fmt.Errorf("redis-server at %s did not answer within 20s: %w", p.Addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop kills the server (like a crash: nothing is saved) and waits for it to exit.
func (p *Process) Stop() {
	if p.proc == nil {
		return
	}
	p.proc.kill()
	p.proc = nil
}

// Server is a redis-server process owned by a test, which stops it when it ends.
type Server struct {
	*Process
	t testing.TB
}

// Start starts redis-server with extra config directives (e.g. "--maxmemory", "1mb") on a free
// loopback port, waits until it answers, and stops it when the test ends.
func Start(t testing.TB, args ...string) *Server {
	t.Helper()
	return startServer(t, func(addr string) *Process { return &Process{Addr: addr, Dir: t.TempDir(), args: args} })
}

// startServer starts the server that build describes for a free loopback address.
func startServer(t testing.TB, build func(addr string) *Process) *Server {
	t.Helper()
	testenv.Program(t, "redis-server")
	p, err := startOnFreePort(build)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Process: p, t: t}
	t.Cleanup(s.Stop)
	return s
}

// Restart starts the server again on the same port after Stop.
func (s *Server) Restart() {
	s.t.Helper()
	if err := s.start(); err != nil {
		s.t.Fatal(err)
	}
}

// Client returns a go-redis client for the server, closed when the test ends.
func (s *Server) Client() *redis.Client { return s.ClientOf(0) }

// ClientOf is Client on database db.
func (s *Server) ClientOf(db int) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.Addr, Password: s.password(), DB: db, TLSConfig: s.tls})
	s.t.Cleanup(func() { _ = c.Close() })
	return c
}

// password is the one the server was started with ("--requirepass"), so that Client works.
func (s *Server) password() string {
	for i, a := range s.args {
		if a == "--requirepass" && i+1 < len(s.args) {
			return s.args[i+1]
		}
	}
	return ""
}

// String describes the server for test messages.
func (s *Server) String() string { return "redis-server " + s.Addr }

// List returns every element of the list key.
func List(t testing.TB, rdb redis.Cmdable, key string) []string {
	t.Helper()
	elements, err := rdb.LRange(context.Background(), key, 0, -1).Result()
	if err != nil {
		t.Fatalf("LRANGE %s: %v", key, err)
	}
	return elements
}

// process is a server process started by this package.
type process struct {
	cmd  *exec.Cmd
	done chan struct{}
	log  string
}

func spawn(program string, args []string, log string) (*process, error) {
	p := &process{cmd: exec.Command(program, args...), done: make(chan struct{}), log: log}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", program, err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// exited returns an error with the process's log once it has exited, nil while it runs.
func (p *process) exited(name string) error {
	select {
	case <-p.done:
		log, _ := os.ReadFile(p.log)
		return errors.New(name + " exited: " + string(log))
	default:
		return nil
	}
}

func (p *process) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// WaitLen waits until the list key holds at least n elements, for 90 seconds at most.
func WaitLen(t testing.TB, rdb redis.Cmdable, key string, n int) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		got, err := rdb.LLen(context.Background(), key).Result()
		if err == nil && got >= int64(n) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s holds %d of %d elements after 90s (%v)", key, got, n, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
