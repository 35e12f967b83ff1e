package plumelogexporter

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plumelog-otel/otelcol-plumelog/internal/redistest"
)

// failoverSettings give a failover a retry budget of about 30 s: 0.05 + 0.1 + 0.2 + 0.4 s, then
// 0.5 s per further retry, each attempt bounded by 1 s timeouts.
func failoverSettings() settings {
	return settings{
		"flush_interval": "50ms",
		"dial_timeout":   "1s",
		"read_timeout":   "1s",
		"write_timeout":  "1s",
		"batch_size":     100,
		"max_retries":    60,
		"backoff":        map[string]any{"initial_interval": "50ms", "max_interval": "500ms"},
	}
}

// pauseAndSync makes a kill of master lose nothing it acknowledged. Replication is
// asynchronous: a write acknowledged just before the master died may never reach the replica,
// and no client can prevent that. Pausing writes and waiting for the replica first leaves
// nothing in that window; the stream goes on meanwhile and its writes wait, then fail.
func pauseAndSync(t *testing.T, master *redistest.Server) {
	t.Helper()
	ctx := context.Background()
	rdb := master.Client()
	require.NoError(t, rdb.Do(ctx, "CLIENT", "PAUSE", 30_000, "WRITE").Err())
	require.EqualValues(t, 1, rdb.Wait(ctx, 1, 10*time.Second).Val(), "the replica has every acknowledged write")
}

// streamThroughFailover streams records through f, waits until 500 were delivered, calls
// failover, waits until 500 more were delivered, and shuts the exporter down. It returns the
// stream and how long records stopped flowing.
func streamThroughFailover(t *testing.T, f *testExporter, failover func()) (*streaming, time.Duration) {
	t.Helper()
	waitFor := func(n int64) {
		require.Eventually(t, func() bool { return f.count(t, "records_sent") >= n }, 90*time.Second, 10*time.Millisecond,
			"records sent: %d of %d", f.count(t, "records_sent"), n)
	}
	s := f.stream(10, 10*time.Millisecond)
	waitFor(500)
	before := f.count(t, "records_sent")
	start := time.Now()
	failover()
	waitFor(before + 500)
	recovered := time.Since(start)
	s.stop()
	f.shutdown(t)
	return s, recovered
}

// TestClusterFailover writes to a Redis Cluster of three masters with a replica each and
// fails over the master that owns the queue's slot while a stream of records flows: the
// records go on to the promoted replica, none is lost and none dropped.
func TestClusterFailover(t *testing.T) {
	for _, tt := range []struct {
		name     string
		failover func(t *testing.T, c *redistest.Cluster, master, replica *redistest.Server)
	}{
		{
			// The replica takes over once the other masters agree the master is down, after
			// cluster-node-timeout (2 s).
			name: "master killed",
			failover: func(t *testing.T, _ *redistest.Cluster, master, _ *redistest.Server) {
				pauseAndSync(t, master)
				master.Stop()
			},
		},
		{
			// A manual failover: the master stops taking writes, the replica catches up and
			// takes over, and the old master answers MOVED from then on.
			name: "CLUSTER FAILOVER on the replica",
			failover: func(t *testing.T, _ *redistest.Cluster, _, replica *redistest.Server) {
				require.NoError(t, replica.Client().Do(context.Background(), "CLUSTER", "FAILOVER").Err())
			},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := redistest.StartReplicatedCluster(t, 3, 1)
			master := c.NodeOf("plume_log_list")
			replica := c.ReplicaOf(master)
			f := startExporterWith(t, failoverSettings(), settings{"cluster": map[string]any{"addresses": c.Addrs}})

			s, recovered := streamThroughFailover(t, f, func() {
				tt.failover(t, c, master, replica)
				c.WaitForPromotion(replica, "plume_log_list", 60*time.Second)
			})
			a := f.account(t, replica.Client(), s, 0)
			t.Logf("%s: %s; records flowed again %s after the failover began",
				tt.name, a, recovered.Round(10*time.Millisecond))
			assert.Zero(t, a.dropped, "the failover fits in the retry budget")
			assert.Equal(t, a.sent, a.distinct, "every accepted record reached the promoted replica")
			assert.Zero(t, a.duplicates, "no write in doubt: writes were paused, or the failover was coordinated")
		})
	}
}

// TestSentinelFailoverOverTLS runs a master, its replica and three sentinels that all speak
// only TLS, including replication and the sentinels' links to each other, and kills the
// master while the exporter, with its tls settings, streams records through the sentinels.
func TestSentinelFailoverOverTLS(t *testing.T) {
	t.Parallel()
	ca := redistest.NewCA(t, "sentinel-tls-ca")
	cert := ca.Issue(t, "redis", "127.0.0.1")
	master, _ := redistest.StartReplicatedTLS(t, ca, cert, 1, "--requirepass", "master-pw", "--masterauth", "master-pw")
	sentinels := redistest.StartSentinels(t, 3, master.Addr, redistest.SentinelOptions{
		MasterName: "plumelog", MasterPassword: "master-pw", Replicas: 1, TLS: &redistest.SentinelTLS{CA: ca, Cert: cert},
	})
	f := startExporterWith(t, failoverSettings(), settings{
		"sentinel": map[string]any{"master_name": "plumelog", "addresses": sentinels.Addrs},
		"password": "master-pw",
		"tls":      map[string]any{"ca_file": ca.CertFile},
	})

	var newMaster string
	s, recovered := streamThroughFailover(t, f, func() {
		pauseAndSync(t, master)
		master.Stop()
		newMaster = sentinels.WaitForFailover(master.Addr, 60*time.Second)
	})
	rdb := redis.NewClient(&redis.Options{Addr: newMaster, Password: "master-pw", TLSConfig: sentinels.TLSConfig()})
	defer rdb.Close()
	a := f.account(t, rdb, s, 0)
	t.Logf("sentinel failover over TLS: %s; records flowed again %s after the kill", a, recovered.Round(10*time.Millisecond))
	assert.Zero(t, a.dropped, "the failover fits in the retry budget")
	assert.Equal(t, a.sent, a.distinct, "every accepted record reached the new master")
	assert.Zero(t, a.duplicates, "writes were paused before the kill: none was in doubt")
	assertStatusChanges(t, f.host.statuses())
}
