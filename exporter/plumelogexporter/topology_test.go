package plumelogexporter

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"

	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/batcher"
	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/sender"
	"github.com/plumelog-otel/otelcol-plumelog/internal/plumelogtest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/redistest"
)

// orderLogs builds records whose content is "order <i>" for i from first on, with bodies
// in several scripts so that multi-byte text crosses every path.
func orderLogs(first, n int) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "order-svc")
	rl.Resource().Attributes().PutStr("deployment.environment.name", "prod")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("com.example.OrderService")
	now := pcommon.NewTimestampFromTime(time.Now())
	for i := first; i < first+n; i++ {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetTimestamp(now)
		lr.SetSeverityNumber(plog.SeverityNumberInfo)
		lr.Body().SetStr("order " + strconv.Itoa(i))
		lr.Attributes().PutStr("note", []string{"plain", "订单已创建", "заказ", "emoji 🎉"}[i%4])
	}
	return ld
}

// orderNumbers checks every element against the wire contract and returns how often each
// order number appears.
func orderNumbers(t *testing.T, elements []string) map[int]int {
	t.Helper()
	seen := map[int]int{}
	for _, e := range elements {
		msg, err := plumelogtest.CheckRunLog([]byte(e))
		require.NoError(t, err, e)
		n, err := strconv.Atoi(strings.TrimPrefix(msg["content"].(string), "order "))
		require.NoError(t, err, e)
		seen[n]++
	}
	return seen
}

// decodeCompressedList decodes a compressed list with liblz4 and returns the number of
// envelopes and the messages they hold, in order.
func decodeCompressedList(t *testing.T, rdb redis.Cmdable, key string) (int, []string) {
	t.Helper()
	envs, err := rdb.LRange(context.Background(), key, 0, -1).Result()
	require.NoError(t, err)
	raw := make([][]byte, len(envs))
	for i, e := range envs {
		raw[i] = []byte(e)
	}
	var elements []string
	for _, msgs := range plumelogtest.DecodeEnvelopes(t, raw) {
		elements = append(elements, msgs...)
	}
	return len(envs), elements
}

func waitSent(t *testing.T, s started, n int64) {
	t.Helper()
	require.Eventually(t, func() bool { return sumValue(t, s.telemetry, "records_sent") >= n }, 60*time.Second, 10*time.Millisecond,
		"records sent: %d of %d", sumValue(t, s.telemetry, "records_sent"), n)
}

// TestExporterCompressedQueue writes batches as LZ4 envelopes and decodes what lands in Redis
// with liblz4: every record arrives once, in order, as a contract-valid message, and the plain
// list stays empty.
func TestExporterCompressedQueue(t *testing.T) {
	for _, tt := range []struct {
		name            string
		maxEnvelopeSize int
		batchSize       int
		// manyPerBatch: the envelope limit is small enough to split every batch.
		manyPerBatch bool
	}{
		{name: "one envelope per batch", maxEnvelopeSize: 512 << 10, batchSize: 100},
		{name: "batches split into several envelopes", maxEnvelopeSize: 2048, batchSize: 100, manyPerBatch: true},
		{name: "one record per batch", maxEnvelopeSize: 512 << 10, batchSize: 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := redistest.Start(t)
			s := startExporter(t, func(c *Config) {
				c.Redis.Endpoint = sender.Endpoint(srv.Addr)
				c.Lists.Compression = "lz4"
				c.Lists.MaxEnvelopeSize = tt.maxEnvelopeSize
				c.Batching.BatchSize = tt.batchSize
				c.Batching.Buffer.MaxRecords = 10_000
			})
			const n = 1000
			for i := 0; i < n; i += 50 {
				require.NoError(t, s.exp.ConsumeLogs(context.Background(), orderLogs(i, 50)))
			}
			waitSent(t, s, n)
			require.NoError(t, s.exp.Shutdown(context.Background()))

			rdb := srv.Client()
			assert.Zero(t, rdb.LLen(context.Background(), "plume_log_list").Val(), "nothing goes to the plain list")
			envelopes, elements := decodeCompressedList(t, rdb, "plume_log_list_compress")
			require.Len(t, elements, n)
			for i, e := range elements {
				msg, err := plumelogtest.CheckRunLog([]byte(e))
				require.NoError(t, err, e)
				require.Equal(t, "order "+strconv.Itoa(i), msg["content"], "records keep their order")
			}
			flushes := sumValue(t, s.telemetry, "flushes")
			if tt.manyPerBatch {
				assert.Greater(t, int64(envelopes), flushes, "batches were split")
			} else {
				assert.Equal(t, flushes, int64(envelopes), "one envelope per batch")
			}
			t.Logf("%d records in %d batches, %d envelopes", n, flushes, envelopes)
		})
	}
}

// TestExporterTLS connects through configtls to redis-servers that speak only TLS.
func TestExporterTLS(t *testing.T) {
	ca, otherCA := redistest.NewCA(t, "plumelog-test-ca"), redistest.NewCA(t, "other-ca")
	// byIP serves a certificate for 127.0.0.1 and asks for no client certificate; byName's
	// certificate names only redis.test, and it requires a client certificate.
	byIP := redistest.StartTLS(t, ca, ca.Issue(t, "redis-ip", "127.0.0.1"), "--tls-auth-clients", "no")
	byName := redistest.StartTLS(t, ca, ca.Issue(t, "redis-name", "redis.test"), "--tls-auth-clients", "yes")
	client := ca.Issue(t, "exporter")

	for _, tt := range []struct {
		name      string
		srv       *redistest.Server
		tls       func(*configtls.ClientConfig)
		delivered bool
		// reason is the drop reason of records that are not delivered.
		reason string
	}{
		{name: "CA file", srv: byIP, delivered: true, tls: func(c *configtls.ClientConfig) { c.CAFile = ca.CertFile }},
		{name: "CA PEM", srv: byIP, delivered: true, tls: func(c *configtls.ClientConfig) { c.CAPem = configopaque.String(ca.CertPEM) }},
		{name: "wrong CA", srv: byIP, reason: "permanent_error", tls: func(c *configtls.ClientConfig) { c.CAFile = otherCA.CertFile }},
		{name: "wrong CA, verification skipped", srv: byIP, delivered: true, tls: func(c *configtls.ClientConfig) {
			c.CAFile = otherCA.CertFile
			c.InsecureSkipVerify = true
		}},
		{name: "client certificate and server name override", srv: byName, delivered: true, tls: func(c *configtls.ClientConfig) {
			c.CAFile = ca.CertFile
			c.CertFile, c.KeyFile = client.CertFile, client.KeyFile
			c.ServerName = "redis.test"
		}},
		{name: "certificate for another name", srv: byName, reason: "permanent_error", tls: func(c *configtls.ClientConfig) {
			c.CAFile = ca.CertFile
			c.CertFile, c.KeyFile = client.CertFile, client.KeyFile
		}},
		{name: "no client certificate", srv: byName, reason: "retries_exhausted", tls: func(c *configtls.ClientConfig) {
			c.CAFile = ca.CertFile
			c.ServerName = "redis.test"
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rdb := tt.srv.Client()
			require.NoError(t, rdb.Del(context.Background(), "plume_log_list").Err())
			s := startExporter(t, func(c *Config) {
				c.Redis.Endpoint = sender.Endpoint(tt.srv.Addr)
				c.TLS = configtls.ClientConfig{}
				tt.tls(&c.TLS)
				c.Redis.DialTimeout = 2 * time.Second
				c.Batching.MaxRetries = 0
			})
			require.NoError(t, s.exp.ConsumeLogs(context.Background(), orderLogs(0, 10)))
			require.Eventually(t, func() bool {
				return sumValue(t, s.telemetry, "records_sent")+sumValue(t, s.telemetry, "records_dropped") == 10
			}, 30*time.Second, 10*time.Millisecond)
			require.NoError(t, s.exp.Shutdown(context.Background()))
			if tt.delivered {
				assert.EqualValues(t, 10, rdb.LLen(context.Background(), "plume_log_list").Val())
				assert.EqualValues(t, 10, sumValue(t, s.telemetry, "records_sent"))
				return
			}
			assert.Zero(t, rdb.LLen(context.Background(), "plume_log_list").Val())
			assert.EqualValues(t, 10, sumValue(t, s.telemetry, "records_dropped", attribute.String("reason", tt.reason)))
		})
	}
}

// TestExporterFollowsSentinelFailover streams records through the exporter to a master that
// Sentinel watches, kills the master midway, and checks that after the failover every record
// reached the new master: sent = delivered + dropped, with nothing dropped.
func TestExporterFollowsSentinelFailover(t *testing.T) {
	master, _ := redistest.StartReplicated(t, 1, "--requirepass", "master-pw", "--masterauth", "master-pw")
	sentinels := redistest.StartSentinels(t, 3, master.Addr, redistest.SentinelOptions{
		MasterName: "plumelog", Password: "sentinel-pw", MasterPassword: "master-pw", Replicas: 1,
	})
	s := startExporter(t, func(c *Config) {
		c.Redis.Sentinel = sender.Sentinel{MasterName: "plumelog", Addresses: sentinels.Addrs, Password: "sentinel-pw"}
		c.Redis.Password = "master-pw"
		c.Redis.DialTimeout, c.Redis.ReadTimeout, c.Redis.WriteTimeout = time.Second, time.Second, time.Second
		c.Batching.BatchSize = 50
		c.Batching.FlushInterval = 50 * time.Millisecond
		// A retry budget of about 30 s: 0.05 + 0.1 + 0.2 + 0.4 + 0.5 per further retry.
		c.Batching.MaxRetries = 60
		c.Batching.Backoff = batcher.Backoff{InitialInterval: 50 * time.Millisecond, MaxInterval: 500 * time.Millisecond, Multiplier: 2, Jitter: 0.2}
	})

	// The stream: 10 records every 5 ms until stopped; sent counts what the exporter accepted.
	var sent, refused int
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for next := 0; ; next += 10 {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			if err := s.exp.ConsumeLogs(context.Background(), orderLogs(next, 10)); err != nil {
				refused += 10
				continue
			}
			sent += 10
		}
	}()
	waitSent(t, s, 500)

	// Replication is asynchronous: a write the master acknowledged just before it died may
	// never reach the replica, and no client can prevent that. Pausing writes and waiting for
	// the replica first makes the crash lose nothing acknowledged, so every record can be
	// demanded of the new master. The stream goes on meanwhile; its writes block, then fail.
	old := redis.NewClient(&redis.Options{Addr: master.Addr, Password: "master-pw"})
	require.NoError(t, old.Do(context.Background(), "CLIENT", "PAUSE", 30_000, "WRITE").Err())
	require.EqualValues(t, 1, old.Wait(context.Background(), 1, 10*time.Second).Val(), "the replica has every acknowledged write")
	_ = old.Close()
	beforeKill := sumValue(t, s.telemetry, "records_sent")
	killed := time.Now()
	master.Stop()

	newMaster := sentinels.WaitForFailover(master.Addr, 60*time.Second)
	failover := time.Since(killed)
	waitSent(t, s, beforeKill+500)
	recovered := time.Since(killed)
	close(stop)
	wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, s.exp.Shutdown(ctx))

	delivered := sumValue(t, s.telemetry, "records_sent")
	dropped := sumValue(t, s.telemetry, "records_dropped")
	retried := sumValue(t, s.telemetry, "records_retried")
	rdb := redis.NewClient(&redis.Options{Addr: newMaster, Password: "master-pw"})
	defer rdb.Close()
	elements, err := rdb.LRange(context.Background(), "plume_log_list", 0, -1).Result()
	require.NoError(t, err)
	seen := orderNumbers(t, elements)
	var missing, duplicated int
	for i := range sent {
		switch {
		case seen[i] == 0:
			missing++
		case seen[i] > 1:
			duplicated += seen[i] - 1
		}
	}
	t.Logf("sent %d, delivered %d, dropped %d, refused %d, retried %d; on the new master %d (missing %d, duplicated %d); "+
		"sentinels switched after %s, records flowed again after %s",
		sent, delivered, dropped, refused, retried, len(elements), missing, duplicated,
		failover.Round(time.Millisecond), recovered.Round(time.Millisecond))

	assert.EqualValues(t, sent, delivered+dropped, "every record is delivered or dropped")
	assert.Zero(t, dropped, "the outage fits in the retry budget")
	assert.Zero(t, refused, "the buffer absorbs the outage")
	assert.Positive(t, retried, "the outage was retried")
	assert.Zero(t, missing, "every record reached the new master")
	assert.Len(t, seen, sent, "and nothing else did")
}

// TestExporterWritesToCluster sends compressed batches to a Redis Cluster seeded with one node.
func TestExporterWritesToCluster(t *testing.T) {
	cluster := redistest.StartCluster(t, 3)
	s := startExporter(t, func(c *Config) {
		c.Redis.Cluster.Addresses = cluster.Addrs[:1]
		c.Lists.Compression = "lz4"
	})
	const n = 500
	require.NoError(t, s.exp.ConsumeLogs(context.Background(), orderLogs(0, n)))
	waitSent(t, s, n)
	require.NoError(t, s.exp.Shutdown(context.Background()))

	_, elements := decodeCompressedList(t, cluster.Client(), "plume_log_list_compress")
	seen := orderNumbers(t, elements)
	assert.Len(t, elements, n)
	assert.Len(t, seen, n)
}
