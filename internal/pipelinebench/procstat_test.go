package main

import (
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseStatCountsFieldsFromTheLastParenthesis(t *testing.T) {
	// A command name with a space and a parenthesis, utime 1234 and stime 66 ticks.
	line := "4242 (otel col) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 1234 66 0 0 20 0 12 0 555 1000 200 18446744073709551615\n"
	d, err := parseStat([]byte(line))
	require.NoError(t, err)
	require.Equal(t, 13*time.Second, d)

	_, err = parseStat([]byte("4242 (short) S 1 2"))
	require.Error(t, err)
}

// TestCPUTimeAgreesWithRusage checks the fields read against the kernel's own account of this
// process, taken just before and just after.
func TestCPUTimeAgreesWithRusage(t *testing.T) {
	deadline := time.Now().Add(time.Minute)
	for rusageCPU(t) < 100*time.Millisecond && time.Now().Before(deadline) {
		for i := range 1_000_000 {
			_ = i * i
		}
	}
	before := rusageCPU(t)
	got, err := cpuTime(os.Getpid())
	require.NoError(t, err)
	after := rusageCPU(t)
	require.GreaterOrEqual(t, before, 100*time.Millisecond)
	// /proc counts whole ticks of 10 ms.
	require.GreaterOrEqual(t, got, before-2*time.Second/clockTicks)
	require.LessOrEqual(t, got, after+2*time.Second/clockTicks)
}

func rusageCPU(t *testing.T) time.Duration {
	var ru syscall.Rusage
	require.NoError(t, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
