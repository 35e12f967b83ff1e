package confcheck

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWithinPrefixesEveryKey(t *testing.T) {
	err := Within("outer", Within("backoff", errors.Join(
		Errorf("initial_interval", "must be positive"),
		Errorf("jitter", "must be between 0 and 1, got %g", 1.5),
		errors.New("a problem without a key"),
	)))
	require.EqualError(t, err, `"outer::backoff::initial_interval" must be positive`+"\n"+
		`"outer::backoff::jitter" must be between 0 and 1, got 1.5`+"\n"+
		`"outer": "backoff": a problem without a key`)
	assert.NoError(t, Within("backoff", nil))
}

func TestDuration(t *testing.T) {
	for _, tt := range []struct {
		d      time.Duration
		zeroOK bool
		want   string
	}{
		{d: time.Second},
		{d: time.Millisecond},
		{d: 0, zeroOK: true},
		{d: 0, want: `"flush_interval" must be at least 1ms, got 0s`},
		{d: -time.Second, want: `"flush_interval" must not be negative, got -1s`},
		{d: 5, want: `"flush_interval" is 5ns; durations need a unit, e.g. 5s`},
		{d: 2000, want: `"flush_interval" is 2µs; durations need a unit, e.g. 2000s`},
		{d: 999 * time.Microsecond, want: `"flush_interval" must be at least 1ms, got 999µs`},
	} {
		err := Duration("flush_interval", tt.d, time.Millisecond, tt.zeroOK, "s")
		if tt.want == "" {
			assert.NoError(t, err, tt.d)
		} else {
			assert.EqualError(t, err, tt.want)
		}
	}
}
