package batcher

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		change  func(*Config)
		wantErr string
	}{
		{name: "valid", change: func(*Config) {}},
		{name: "eager with linger", change: func(c *Config) { c.Mode = ModeEager; c.MinLinger = time.Millisecond }},
		{name: "batch size", change: func(c *Config) { c.BatchSize = 0 }, wantErr: "BatchSize must be positive, got 0"},
		{name: "flush interval", change: func(c *Config) { c.FlushInterval = 0 }, wantErr: "FlushInterval must be positive"},
		{name: "mode", change: func(c *Config) { c.Mode = "lazy" }, wantErr: `Mode must be "strict" or "eager", got "lazy"`},
		{name: "min linger", change: func(c *Config) { c.MinLinger = -time.Second }, wantErr: "MinLinger must not be negative"},
		{name: "concurrency", change: func(c *Config) { c.Concurrency = 0 }, wantErr: "Concurrency must be positive"},
		{name: "queue records", change: func(c *Config) { c.MaxQueueRecords = 0 }, wantErr: "MaxQueueRecords must be positive"},
		{name: "queue bytes", change: func(c *Config) { c.MaxQueueBytes = -1 }, wantErr: "MaxQueueBytes must be positive"},
		{name: "block timeout", change: func(c *Config) { c.BlockTimeout = -time.Second }, wantErr: "BlockTimeout must not be negative"},
		{name: "max retries", change: func(c *Config) { c.MaxRetries = -1 }, wantErr: "MaxRetries must not be negative"},
		{name: "initial backoff", change: func(c *Config) { c.Backoff.Initial = 0 }, wantErr: "Backoff.Initial must be positive"},
		{name: "max backoff", change: func(c *Config) { c.Backoff.Max = time.Microsecond }, wantErr: "Backoff.Max must be at least Backoff.Initial"},
		{name: "multiplier", change: func(c *Config) { c.Backoff.Multiplier = 0.5 }, wantErr: "Backoff.Multiplier must be at least 1"},
		{name: "jitter", change: func(c *Config) { c.Backoff.Jitter = 1.5 }, wantErr: "Backoff.Jitter must be between 0 and 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := testConfig(tt.change).Validate()
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
		})
	}

	t.Run("every problem is named", func(t *testing.T) {
		err := Config{}.Validate()
		require.Error(t, err)
		for _, field := range []string{"BatchSize", "FlushInterval", "Mode", "Concurrency", "MaxQueueRecords", "MaxQueueBytes", "Backoff.Initial", "Backoff.Multiplier"} {
			assert.Contains(t, err.Error(), field)
		}
	})
}

func TestBackoffWait(t *testing.T) {
	bo := Backoff{Initial: 100 * time.Millisecond, Max: time.Second, Multiplier: 2}
	tests := []struct {
		failures int
		want     time.Duration
	}{
		{failures: 1, want: 100 * time.Millisecond},
		{failures: 2, want: 200 * time.Millisecond},
		{failures: 4, want: 800 * time.Millisecond},
		{failures: 5, want: time.Second},
		{failures: 10_000, want: time.Second}, // saturates instead of overflowing
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, bo.wait(tt.failures), "after %d failures", tt.failures)

		jittered := bo
		jittered.Jitter = 0.2
		for range 100 {
			d := jittered.wait(tt.failures)
			assert.GreaterOrEqual(t, d, tt.want*8/10)
			assert.LessOrEqual(t, d, tt.want*12/10)
		}
	}
}
