package main

import (
	"context"
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestMeasureAccountsForEveryRecord runs every variant once on the built collector, with few
// records: each run must deliver every record through the exporter its variant names, and
// nothing through another.
func TestMeasureAccountsForEveryRecord(t *testing.T) {
	bin := os.Getenv("PLUMELOG_COLLECTOR")
	_, redisErr := exec.LookPath("redis-server")
	if bin == "" || redisErr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PLUMELOG_COLLECTOR (%q) and redis-server (%v) are required with CI=true; run `make test`", bin, redisErr)
		}
		t.Skip("needs PLUMELOG_COLLECTOR and redis-server; `make test` provides both")
	}
	o := options{records: 20_000, warmup: 1_000, senders: 2, batch: 100}
	for _, v := range variants {
		t.Run(v.Key, func(t *testing.T) {
			res, err := measure(context.Background(), binary{Name: "current", Path: bin}, v, 1, o)
			require.NoError(t, err)
			require.Equal(t, 20_000, res.Records)
			require.Positive(t, res.Seconds)
			require.Positive(t, res.CollectorCPU)
		})
	}
}
