package otelcoltest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/plumelog-otel/otelcol-plumelog/internal/testenv"
)

// Redis is a redis-server process on a free loopback port, started by a program rather than a
// test (tests use redistest, which fails or skips the test instead of returning errors).
type Redis struct {
	Addr string
	dir  string
	cmd  *exec.Cmd
	done chan struct{}
}

// StartRedis starts redis-server in dir, without persistence, with extra config directives
// (e.g. "--maxmemory", "1gb"), and waits until it answers. On error nothing is left running.
func StartRedis(dir string, args ...string) (*Redis, error) {
	addr, err := testenv.FreeAddr()
	if err != nil {
		return nil, err
	}
	_, port, _ := net.SplitHostPort(addr)
	args = append([]string{"--port", port, "--bind", "127.0.0.1", "--dir", dir,
		"--save", "", "--appendonly", "no", "--logfile", filepath.Join(dir, "redis.log")}, args...)
	r := &Redis{Addr: addr, dir: dir, cmd: exec.Command("redis-server", args...), done: make(chan struct{})}
	if err := r.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting redis-server (`make packages` installs it): %w", err)
	}
	go func() {
		_ = r.cmd.Wait()
		close(r.done)
	}()
	if err := r.waitReady(20 * time.Second); err != nil {
		r.Stop()
		return nil, err
	}
	return r, nil
}

func (r *Redis) waitReady(limit time.Duration) error {
	c := redis.NewClient(&redis.Options{Addr: r.Addr, MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(limit)
	for {
		err := c.Ping(context.Background()).Err()
		if err == nil {
			return nil
		}
		select {
		case <-r.done:
			log, _ := os.ReadFile(filepath.Join(r.dir, "redis.log"))
			return fmt.Errorf("redis-server exited at start: %s", log)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redis-server at %s did not answer within %s: %w", r.Addr, limit, err)
		}
	}
}

// Pid returns the process id of the server.
func (r *Redis) Pid() int { return r.cmd.Process.Pid }

// Stop kills the server (nothing is saved) and waits for it to exit.
func (r *Redis) Stop() {
	_ = r.cmd.Process.Kill()
	<-r.done
}
