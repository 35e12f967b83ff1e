package otelcoltest

import (
	"net"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plumelog-otel/otelcol-plumelog/internal/testenv"
)

// TestStartMovesOffATakenPort takes the first port handed to the collector before the
// collector binds it, as a test running beside can, and checks that Start starts it on new
// ports instead of failing.
func TestStartMovesOffATakenPort(t *testing.T) {
	bin := os.Getenv("PLUMELOG_COLLECTOR")
	if bin == "" {
		testenv.Missing(t, "PLUMELOG_COLLECTOR is not set")
	}
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()

	calls := 0
	freeAddr = func() (string, error) {
		calls++
		if calls == 1 {
			return taken.Addr().String(), nil // the OTLP gRPC port of the first attempt
		}
		return testenv.FreeAddr()
	}
	t.Cleanup(func() { freeAddr = testenv.FreeAddr })

	// The exporter connects on first use: no Redis is needed to start.
	c, err := Start(bin, t.TempDir(), Config{Exporter: Settings{"endpoint": testenv.Addr(t)}})
	require.NoError(t, err)
	defer func() { require.NoError(t, c.Stop()) }()
	assert.NotEqual(t, taken.Addr().String(), c.GRPC, "started on other ports")
	assert.Equal(t, 8, calls, "two attempts of four ports each")
}
