// Package testenv is what the tests and the soak tool take from the machine: free loopback
// addresses for the processes they start, the programs they run, and the CPU time they use. A missing program skips
// a test, except with CI=true, where it fails it: CI must never pass by testing nothing.
package testenv // import "github.com/plumelog-otel/otelcol-plumelog/internal/testenv"

import (
	"net"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// FreeAddr returns a loopback host:port that nothing listens on right now.
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// Addr is FreeAddr for a test, which fails when no port is free.
func Addr(t testing.TB) string {
	t.Helper()
	addr, err := FreeAddr()
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	return addr
}

// Port returns the port of a host:port address.
func Port(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return port
}

// Program returns the path of a program the test runs, or reports it Missing.
func Program(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		Missing(t, name+" is not installed")
	}
	return path
}

// Missing skips the test for want of what, or fails it under CI=true. `make test` installs and
// builds everything the tests need.
func Missing(t testing.TB, what string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s, which CI=true requires (`make test` provides it)", what)
	}
	t.Skipf("%s; `make test` provides it", what)
}

// ProcessCPU returns the CPU time (user + system) this process has used: benchmarks that
// measure it count the kernel's share of their sockets too.
func ProcessCPU(t testing.TB) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
