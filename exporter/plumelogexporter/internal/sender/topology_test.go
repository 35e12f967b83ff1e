package sender

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/consumer/consumererror"

	"github.com/plumelog-otel/otelcol-plumelog/internal/redistest"
)

// batchOf returns n values labelled with prefix, so that every value is told apart.
func batchOf(prefix string, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = fmt.Appendf(nil, `{"batch":%q,"i":%d}`, prefix, i)
	}
	return out
}

func strs(batches ...[][]byte) []string {
	var out []string
	for _, b := range batches {
		for _, v := range b {
			out = append(out, string(v))
		}
	}
	return out
}

func TestSendAsACLUser(t *testing.T) {
	srv := redistest.Start(t, "--user", "plumelog", "on", ">pw-Zq81", "~plume_log_*", "+@list", "+@transaction", "+@connection")
	ctx := context.Background()
	send := func(password string, batch [][]byte) error {
		s := open(t, Config{Endpoint: Endpoint(srv.Addr), Username: "plumelog", Password: configopaque.String(password), DialTimeout: time.Second}, "plume_log_list")
		return s.Send(ctx, batch)
	}

	one, many := batchOf("one", 3), batchOf("many", maxValuesPerCommand+1)
	require.NoError(t, send("pw-Zq81", one))
	require.NoError(t, send("pw-Zq81", many), "a transaction is allowed too")
	got, err := srv.Client().LRange(ctx, "plume_log_list", 0, -1).Result()
	require.NoError(t, err)
	assert.Equal(t, strs(one, many), got)

	err = send("pw-wrong", one)
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err), "%v", err)
	require.ErrorContains(t, err, "WRONGPASS")
	assert.NotContains(t, err.Error(), "pw-wrong")
}

func TestSendThroughSentinel(t *testing.T) {
	master, _ := redistest.StartReplicated(t, 1, "--requirepass", "master-pw", "--masterauth", "master-pw")
	sentinels := redistest.StartSentinels(t, 3, master.Addr, redistest.SentinelOptions{
		MasterName: "plumelog", Password: "sentinel-pw", MasterPassword: "master-pw", Replicas: 1,
	})
	ctx := context.Background()
	cfg := Config{
		Sentinel:    Sentinel{MasterName: "plumelog", Addresses: sentinels.Addrs, Password: "sentinel-pw"},
		Password:    "master-pw",
		DB:          3,
		DialTimeout: time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second,
	}

	t.Run("writes to the master", func(t *testing.T) {
		s := open(t, cfg, "plume_log_list")
		batch := batchOf("sentinel", 50)
		require.NoError(t, s.Send(ctx, batch))
		rdb := redis.NewClient(&redis.Options{Addr: master.Addr, Password: "master-pw", DB: 3})
		defer rdb.Close()
		got, err := rdb.LRange(ctx, "plume_log_list", 0, -1).Result()
		require.NoError(t, err)
		assert.Equal(t, strs(batch), got)
	})

	t.Run("a wrong sentinel password is permanent", func(t *testing.T) {
		bad := cfg
		bad.Sentinel.Password = "pw-wrong"
		s := open(t, bad, "plume_log_list")
		err := s.Send(ctx, batchOf("x", 1))
		require.Error(t, err)
		assert.True(t, consumererror.IsPermanent(err), "%v", err)
		assert.NotContains(t, err.Error(), "pw-wrong")
	})

	t.Run("an unknown master name is transient", func(t *testing.T) {
		bad := cfg
		bad.Sentinel.MasterName = "other"
		s := open(t, bad, "plume_log_list")
		err := s.Send(ctx, batchOf("x", 1))
		require.Error(t, err)
		assert.False(t, consumererror.IsPermanent(err), "%v", err)
	})
}

// TestSendToCluster writes through a cluster client seeded with one node that does not serve
// the key, then moves the key's slot to another node while batches keep coming: the client
// follows ASK during the move and MOVED after it, and every batch lands exactly once.
func TestSendToCluster(t *testing.T) {
	cluster := redistest.StartCluster(t, 3)
	ctx := context.Background()
	const key = "plume_log_list"
	var seed string
	for _, n := range cluster.Nodes {
		if n != cluster.NodeOf(key) {
			seed = n.Addr
		}
	}
	s := open(t, Config{Cluster: Cluster{Addresses: []string{seed}}, DialTimeout: time.Second, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second}, key)

	before, large := batchOf("before", 100), batchOf("large", maxValuesPerCommand+1)
	require.NoError(t, s.Send(ctx, before))
	require.NoError(t, s.Send(ctx, large), "a multi-command batch is one transaction on one slot")
	from := cluster.NodeOf(key)
	var during [][]byte
	to := cluster.MoveSlot(key, func() {
		during = batchOf("during", 100)
		require.NoError(t, s.Send(ctx, during), "ASK is followed")
	})
	after := batchOf("after", 100)
	require.NoError(t, s.Send(ctx, after), "MOVED is followed")

	got, err := cluster.Client().LRange(ctx, key, 0, -1).Result()
	require.NoError(t, err)
	assert.Equal(t, strs(before, large, during, after), got)
	errorStats := from.Client().Info(ctx, "errorstats").Val()
	assert.Contains(t, errorStats, "errorstat_ASK:", "the old node redirected with ASK")
	assert.Contains(t, errorStats, "errorstat_MOVED:", "the old node redirected with MOVED")
	assert.Contains(t, to.Client().Info(ctx, "commandstats").Val(), "cmdstat_asking:", "the new node was asked")

	require.NoError(t, cluster.Client().Set(ctx, "not_a_list", "a string", 0).Err())
	wrong := open(t, Config{Cluster: Cluster{Addresses: cluster.Addrs}, DialTimeout: time.Second}, "not_a_list")
	err = wrong.Send(ctx, batchOf("x", 2))
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err), "WRONGTYPE inside a transaction is permanent: %v", err)
}
