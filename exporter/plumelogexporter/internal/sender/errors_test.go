package sender

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumererror"
)

// TestErrorClassification replays every error reply the sender classifies, from a fake server,
// through the real client: what retrying cannot fix is permanent, the rest is retried.
func TestErrorClassification(t *testing.T) {
	for _, tt := range []struct {
		reply     string
		permanent bool
	}{
		{"WRONGTYPE Operation against a key holding the wrong kind of value", true},
		{"NOAUTH Authentication required.", true},
		{"WRONGPASS invalid username-password pair or user is disabled.", true},
		{"NOPERM User plumelog has no permissions to run the 'rpush' command", true},
		{"LOADING Redis is loading the dataset in memory", false},
		{"OOM command not allowed when used memory > 'maxmemory'.", false},
		{"BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.", false},
		{"READONLY You can't write against a read only replica.", false},
		{"TRYAGAIN Multiple keys request during rehashing of slot", false},
		{"MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.", false},
		{"CLUSTERDOWN The cluster is down", false},
		{"ERR max number of clients reached", false},
	} {
		t.Run(strings.Fields(tt.reply)[0], func(t *testing.T) {
			f := startFakeRedis(t, func([]string) string { return "-" + tt.reply + "\r\n" })
			err := newSender(t, f.Addr).Send(context.Background(), values(2, 10))
			require.Error(t, err)
			assert.Equal(t, tt.permanent, consumererror.IsPermanent(err), "%v", err)
			assert.ErrorContains(t, err, tt.reply, "the reason reaches the log")
		})
	}

	t.Run("no reply is a transient timeout", func(t *testing.T) {
		f := startFakeRedis(t, func([]string) string { return "" })
		err := newSender(t, f.Addr).Send(context.Background(), values(2, 10))
		require.Error(t, err)
		assert.False(t, consumererror.IsPermanent(err), "%v", err)
		assert.ErrorContains(t, err, "timeout")
	})
}
