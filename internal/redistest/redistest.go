// Package redistest starts real Redis processes on free loopback ports for tests: standalone
// servers, TLS-only servers with a throwaway CA, replicas with Sentinel, and Redis Clusters.
//
// When a program is not installed the test is skipped, except with CI=true, where a missing
// program is a failure: CI must never pass by testing nothing.
package redistest // import "github.com/plumelog-otel/otelcol-plumelog/internal/redistest"

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is one redis-server process owned by a test.
type Server struct {
	// Addr is host:port on 127.0.0.1.
	Addr string
	// Dir is the server's working directory (also where a unix socket would live).
	Dir string

	t    testing.TB
	args []string
	// tls is how the test itself reaches a server that only speaks TLS.
	tls  *tls.Config
	cmd  *exec.Cmd
	done chan struct{}
}

// Require returns the path of a program the test needs, skipping the test when it is missing,
// or failing it under CI=true.
func Require(t testing.TB, program string) string {
	t.Helper()
	path, err := exec.LookPath(program)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required with CI=true but not installed (make test installs it)", program)
		}
		t.Skipf("%s not installed; `make test` installs it", program)
	}
	return path
}

// Start starts redis-server with extra config directives (e.g. "--maxmemory", "1mb") on a free
// loopback port, waits until it answers, and stops it when the test ends.
func Start(t testing.TB, args ...string) *Server {
	t.Helper()
	Require(t, "redis-server")
	s := &Server{Addr: "127.0.0.1:" + strconv.Itoa(FreePort(t)), Dir: t.TempDir(), t: t, args: args}
	s.start()
	t.Cleanup(s.Stop)
	return s
}

// FreePort returns a loopback TCP port nothing listens on right now.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (s *Server) start() {
	s.t.Helper()
	_, port, _ := net.SplitHostPort(s.Addr)
	args := append([]string{
		"--port", port, "--bind", "127.0.0.1", "--dir", s.Dir,
		"--save", "", "--appendonly", "no", "--daemonize", "no",
		"--logfile", filepath.Join(s.Dir, "redis.log"),
	}, s.args...)
	s.cmd = exec.Command("redis-server", args...)
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("starting redis-server: %v", err)
	}
	s.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) {
		_ = cmd.Wait()
		close(done)
	}(s.cmd, s.done)

	c := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1, TLSConfig: s.tls})
	defer c.Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := c.Ping(context.Background()).Err()
		if err == nil || redis.IsAuthError(err) {
			return
		}
		select {
		case <-s.done:
			log, _ := os.ReadFile(filepath.Join(s.Dir, "redis.log"))
			s.t.Fatalf("redis-server exited at start: %s", log)
		default:
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("redis-server at %s did not answer within 20s: %v", s.Addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop kills the server (like a crash: nothing is saved) and waits for it to exit.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}

// Restart starts the server again on the same port after Stop.
func (s *Server) Restart() {
	s.t.Helper()
	s.start()
}

// Client returns a go-redis client for the server, closed when the test ends.
func (s *Server) Client() *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.Addr, Password: s.password(), TLSConfig: s.tls})
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
func (s *Server) String() string { return fmt.Sprintf("redis-server %s", s.Addr) }
