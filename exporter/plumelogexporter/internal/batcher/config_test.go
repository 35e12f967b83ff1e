package batcher

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// configRejects lists invalid values and the error that names each, by its key.
var configRejects = []struct {
	name    string
	change  func(*Config)
	wantErr string
}{
	{name: "batch size", change: func(c *Config) { c.BatchSize = 0 }, wantErr: `"batch_size" must be positive, got 0`},
	{name: "flush interval", change: func(c *Config) { c.FlushInterval = 0 }, wantErr: `"flush_interval" must be at least 1ms, got 0s`},
	{name: "flush interval without unit", change: func(c *Config) { c.FlushInterval = 5 }, wantErr: `"flush_interval" is 5ns; durations need a unit, e.g. 5s`},
	{name: "mode", change: func(c *Config) { c.Mode = "lazy" }, wantErr: `"mode" must be "eager" or "strict", got "lazy"`},
	{name: "min linger", change: func(c *Config) { c.MinLinger = -time.Second }, wantErr: `"min_linger" must not be negative`},
	{name: "min linger without unit", change: func(c *Config) { c.MinLinger = 5 }, wantErr: `"min_linger" is 5ns; durations need a unit, e.g. 5ms`},
	{name: "max linger", change: func(c *Config) { c.MaxLinger = -time.Millisecond }, wantErr: `"max_linger" must not be negative`},
	{name: "max linger without unit", change: func(c *Config) { c.MaxLinger = 5 }, wantErr: `"max_linger" is 5ns; durations need a unit, e.g. 5ms`},
	{name: "min linger above flush interval", change: func(c *Config) { c.MinLinger = 2 * time.Hour }, wantErr: `"min_linger" must not exceed flush_interval`},
	{name: "in flight", change: func(c *Config) { c.MaxInFlight = 0 }, wantErr: `"max_in_flight" must be positive`},
	{name: "buffer records", change: func(c *Config) { c.Buffer.MaxRecords = 0 }, wantErr: `"buffer::max_records" must be positive`},
	{name: "buffer bytes", change: func(c *Config) { c.Buffer.MaxBytes = -1 }, wantErr: `"buffer::max_bytes" must be positive`},
	{name: "block timeout", change: func(c *Config) { c.Buffer.BlockTimeout = -time.Second }, wantErr: `"buffer::block_timeout" must not be negative`},
	{name: "max retries", change: func(c *Config) { c.MaxRetries = -1 }, wantErr: `"max_retries" must not be negative`},
	{name: "initial backoff", change: func(c *Config) { c.Backoff.InitialInterval = 0 }, wantErr: `"backoff::initial_interval" must be at least 1ms`},
	{name: "initial backoff without unit", change: func(c *Config) { c.Backoff.InitialInterval = 100 }, wantErr: `"backoff::initial_interval" is 100ns; durations need a unit, e.g. 100ms`},
	{name: "max backoff", change: func(c *Config) { c.Backoff.MaxInterval = 500 * time.Microsecond }, wantErr: `"backoff::max_interval" must be at least 1ms`},
	{name: "max backoff below initial", change: func(c *Config) { c.Backoff.InitialInterval = time.Second }, wantErr: `"backoff::max_interval" must be at least initial_interval (1s), got 10ms`},
	{name: "multiplier", change: func(c *Config) { c.Backoff.Multiplier = 0.5 }, wantErr: `"backoff::multiplier" must be at least 1`},
	{name: "jitter", change: func(c *Config) { c.Backoff.Jitter = 1.5 }, wantErr: `"backoff::jitter" must be between 0 and 1`},
}

func TestConfigCheck(t *testing.T) {
	require.NoError(t, testConfig(nil).Check())
	require.NoError(t, testConfig(func(c *Config) { c.Mode = ModeEager; c.MinLinger = time.Millisecond }).Check())
	for _, tt := range configRejects {
		t.Run(tt.name, func(t *testing.T) {
			require.ErrorContains(t, testConfig(tt.change).Check(), tt.wantErr)
		})
	}

	t.Run("every problem is named", func(t *testing.T) {
		err := Config{}.Check()
		require.Error(t, err)
		for _, key := range []string{"batch_size", "flush_interval", "mode", "max_in_flight", "buffer::max_records", "buffer::max_bytes", "backoff::initial_interval", "backoff::multiplier"} {
			assert.Contains(t, err.Error(), `"`+key+`"`)
		}
	})
}

func TestBackoffWait(t *testing.T) {
	bo := Backoff{InitialInterval: 100 * time.Millisecond, MaxInterval: time.Second, Multiplier: 2}
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
