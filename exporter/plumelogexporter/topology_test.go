package plumelogexporter

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"

	"github.com/plumelog-otel/otelcol-plumelog/internal/otelcoltest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/plumelogtest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/redistest"
)

// multilingual gives every record a note in one of several scripts, so that multi-byte text
// crosses every path.
var multilingual = plumelogtest.Record(func(id int, lr plog.LogRecord) {
	lr.Attributes().PutStr("note", []string{"plain", "订单已创建", "заказ", "emoji 🎉"}[id%4])
})

// decodeCompressedList decodes the compressed list with liblz4 and returns the number of
// envelopes and the messages they hold, in order.
func decodeCompressedList(t *testing.T, rdb redis.Cmdable, key string) (int, []string) {
	t.Helper()
	envs := redistest.List(t, rdb, key)
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
			s := startExporter(t, otelcoltest.Settings{
				"endpoint":            srv.Addr,
				"compression":         "lz4",
				"max_envelope_size":   tt.maxEnvelopeSize,
				"batch_size":          tt.batchSize,
				"buffer::max_records": 10_000,
			})
			const n = 1000
			for i := 0; i < n; i += 50 {
				require.NoError(t, s.exp.ConsumeLogs(context.Background(), plumelogtest.Logs(i, 50, multilingual)))
			}
			s.waitSent(t, n)
			require.NoError(t, s.exp.Shutdown(context.Background()))

			rdb := srv.Client()
			assert.Zero(t, rdb.LLen(context.Background(), "plume_log_list").Val(), "nothing goes to the plain list")
			envelopes, elements := decodeCompressedList(t, rdb, "plume_log_list_compress")
			require.Len(t, elements, n)
			ids := make([]int, 0, n)
			for _, msg := range plumelogtest.Messages(t, elements) {
				ids = append(ids, plumelogtest.ID(t, msg))
			}
			slices.Sort(ids)
			for i, id := range ids {
				require.Equal(t, i, id, "every record once")
			}
			flushes := s.count(t, "flushes")
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
		name string
		srv  *redistest.Server
		// tls are the exporter's tls settings.
		tls       otelcoltest.Settings
		delivered bool
		// reason is the drop reason of records that are not delivered.
		reason string
	}{
		{name: "CA file", srv: byIP, delivered: true, tls: otelcoltest.Settings{"ca_file": ca.CertFile}},
		{name: "CA PEM", srv: byIP, delivered: true, tls: otelcoltest.Settings{"ca_pem": string(ca.CertPEM)}},
		{name: "wrong CA", srv: byIP, reason: "permanent_error", tls: otelcoltest.Settings{"ca_file": otherCA.CertFile}},
		{name: "wrong CA, verification skipped", srv: byIP, delivered: true, tls: otelcoltest.Settings{
			"ca_file": otherCA.CertFile, "insecure_skip_verify": true,
		}},
		{name: "client certificate and server name override", srv: byName, delivered: true, tls: otelcoltest.Settings{
			"ca_file": ca.CertFile, "cert_file": client.CertFile, "key_file": client.KeyFile, "server_name_override": "redis.test",
		}},
		{name: "certificate for another name", srv: byName, reason: "permanent_error", tls: otelcoltest.Settings{
			"ca_file": ca.CertFile, "cert_file": client.CertFile, "key_file": client.KeyFile,
		}},
		{name: "no client certificate", srv: byName, reason: "retries_exhausted", tls: otelcoltest.Settings{
			"ca_file": ca.CertFile, "server_name_override": "redis.test",
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rdb := tt.srv.Client()
			require.NoError(t, rdb.Del(context.Background(), "plume_log_list").Err())
			s := startExporter(t, otelcoltest.Settings{
				"endpoint":      tt.srv.Addr,
				"tls":           tt.tls,
				"tls::insecure": false,
				"dial_timeout":  "2s",
				"max_retries":   0,
			})
			require.NoError(t, s.exp.ConsumeLogs(context.Background(), plumelogtest.Logs(0, 10, multilingual)))
			require.Eventually(t, func() bool {
				return s.count(t, "records_sent")+s.count(t, "records_dropped") == 10
			}, 30*time.Second, 10*time.Millisecond)
			require.NoError(t, s.exp.Shutdown(context.Background()))
			if tt.delivered {
				assert.EqualValues(t, 10, rdb.LLen(context.Background(), "plume_log_list").Val())
				assert.EqualValues(t, 10, s.count(t, "records_sent"))
				return
			}
			assert.Zero(t, rdb.LLen(context.Background(), "plume_log_list").Val())
			assert.EqualValues(t, 10, s.count(t, "records_dropped", attribute.String("reason", tt.reason)))
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
	s := startExporter(t, otelcoltest.Settings{
		"sentinel::master_name": "plumelog", "sentinel::addresses": sentinels.Addrs, "sentinel::password": "sentinel-pw",
		"password":     "master-pw",
		"dial_timeout": "1s", "read_timeout": "1s", "write_timeout": "1s",
		"batch_size":     50,
		"flush_interval": "50ms",
		// A retry budget of about 30 s: 0.05 + 0.1 + 0.2 + 0.4 + 0.5 per further retry.
		"max_retries":               60,
		"backoff::initial_interval": "50ms", "backoff::max_interval": "500ms", "backoff::multiplier": 2, "backoff::jitter": 0.2,
	})

	stream := s.stream(10, 5*time.Millisecond, multilingual)
	s.waitSent(t, 500)

	// Replication is asynchronous: a write the master acknowledged just before it died may
	// never reach the replica, and no client can prevent that. Pausing writes and waiting for
	// the replica first makes the crash lose nothing acknowledged, so every record can be
	// demanded of the new master. The stream goes on meanwhile; its writes block, then fail.
	old := redis.NewClient(&redis.Options{Addr: master.Addr, Password: "master-pw"})
	require.NoError(t, old.Do(context.Background(), "CLIENT", "PAUSE", 30_000, "WRITE").Err())
	require.EqualValues(t, 1, old.Wait(context.Background(), 1, 10*time.Second).Val(), "the replica has every acknowledged write")
	_ = old.Close()
	beforeKill := s.count(t, "records_sent")
	killed := time.Now()
	master.Stop()

	newMaster := sentinels.WaitForFailover(master.Addr, 60*time.Second)
	failover := time.Since(killed)
	s.waitSent(t, beforeKill+500)
	recovered := time.Since(killed)
	stream.stop()
	s.shutdown(t)

	sent, delivered, dropped, retried := len(stream.accepted), s.count(t, "records_sent"), s.count(t, "records_dropped"), s.count(t, "records_retried")
	rdb := redis.NewClient(&redis.Options{Addr: newMaster, Password: "master-pw"})
	defer rdb.Close()
	seen := plumelogtest.Delivered(t, rdb, "plume_log_list")
	missing := 0
	for _, id := range stream.accepted {
		if seen[id] == 0 {
			missing++
		}
	}
	t.Logf("sent %d, delivered %d, dropped %d, refused %d, retried %d; on the new master %d distinct (missing %d, %d duplicates); "+
		"sentinels switched after %s, records flowed again after %s",
		sent, delivered, dropped, len(stream.refused), retried, len(seen), missing, plumelogtest.Duplicates(seen),
		failover.Round(time.Millisecond), recovered.Round(time.Millisecond))

	assert.EqualValues(t, sent, delivered+dropped, "every record is delivered or dropped")
	assert.Zero(t, dropped, "the outage fits in the retry budget")
	assert.Empty(t, stream.refused, "the buffer absorbs the outage")
	assert.Positive(t, retried, "the outage was retried")
	assert.Zero(t, missing, "every record reached the new master")
	assert.Len(t, seen, sent, "and nothing else did")
}

// TestExporterWritesToCluster sends compressed batches to a Redis Cluster seeded with one node.
func TestExporterWritesToCluster(t *testing.T) {
	cluster := redistest.StartCluster(t, 3)
	s := startExporter(t, otelcoltest.Settings{
		"cluster::addresses": cluster.Addrs[:1],
		"compression":        "lz4",
	})
	const n = 500
	require.NoError(t, s.exp.ConsumeLogs(context.Background(), plumelogtest.Logs(0, n, multilingual)))
	s.waitSent(t, n)
	require.NoError(t, s.exp.Shutdown(context.Background()))

	_, elements := decodeCompressedList(t, cluster.Client(), "plume_log_list_compress")
	seen := plumelogtest.CountIDs(t, elements)
	assert.Len(t, elements, n)
	assert.Len(t, seen, n)
}
