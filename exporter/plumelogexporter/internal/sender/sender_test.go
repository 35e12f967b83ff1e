package sender

import (
	"cmp"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumererror"

	"github.com/plumelog-otel/otelcol-plumelog/internal/faulttest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/redistest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/testenv"
)

func newSender(t *testing.T, endpoint string) *Sender {
	t.Helper()
	return open(t, Config{Endpoint: Endpoint(endpoint)}, "plume_log_list")
}

// open creates a Sender for cfg, with one-second timeouts where cfg sets none, and closes it
// when the test ends.
func open(t *testing.T, cfg Config, key string) *Sender {
	t.Helper()
	for _, d := range []*time.Duration{&cfg.DialTimeout, &cfg.ReadTimeout, &cfg.WriteTimeout} {
		*d = cmp.Or(*d, time.Second)
	}
	require.NoError(t, cfg.Check())
	s, err := New(cfg, nil, key)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

func values(n, size int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		v := fmt.Sprintf(`{"seq":%d,"pad":"`, i)
		out[i] = []byte(v + strings.Repeat("x", max(0, size-len(v)-2)) + `"}`)
	}
	return out
}

func TestSendAppendsInOrder(t *testing.T) {
	srv := redistest.Start(t)
	s := newSender(t, srv.Addr)
	ctx := context.Background()

	for _, tt := range []struct {
		name string
		n    int
		size int
	}{
		{"one", 1, 50},
		{"batch", 100, 200},
		{"more values than one command takes", maxValuesPerCommand*2 + 7, 20},
		{"more bytes than one command takes", 5, maxBytesPerCommand / 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := srv.Client()
			require.NoError(t, c.Del(ctx, "plume_log_list").Err())
			batch := values(tt.n, tt.size)
			require.NoError(t, s.Send(ctx, batch))
			got, err := c.LRange(ctx, "plume_log_list", 0, -1).Result()
			require.NoError(t, err)
			require.Len(t, got, tt.n)
			for i := range got {
				require.Equal(t, string(batch[i]), got[i], "element %d", i)
			}
		})
	}
}

func TestSendOverUnixSocket(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "redis.sock")
	srv := redistest.Start(t, "--unixsocket", sock, "--unixsocketperm", "700")
	for _, endpoint := range []string{sock, "unix://" + sock} {
		s := newSender(t, endpoint)
		require.NoError(t, s.Send(context.Background(), values(3, 10)))
	}
	n, err := srv.Client().LLen(context.Background(), "plume_log_list").Result()
	require.NoError(t, err)
	assert.EqualValues(t, 6, n)
}

// errorClasses are failures of Send: permanent ones drop the batch, transient ones are
// retried.
var errorClasses = []struct {
	name string
	// send makes Send fail the way the name says and returns its error.
	send      func(t *testing.T) error
	permanent bool
	// says is in the error; hides is not.
	says, hides string
}{
	{name: "wrong type is permanent", permanent: true, says: "WRONGTYPE", send: func(t *testing.T) error {
		srv := redistest.Start(t)
		require.NoError(t, srv.Client().Set(context.Background(), "plume_log_list", "a string", 0).Err())
		return newSender(t, srv.Addr).Send(context.Background(), values(2, 10))
	}},
	{name: "wrong type in a multi-command batch is permanent and writes nothing", permanent: true, send: func(t *testing.T) error {
		srv := redistest.Start(t)
		require.NoError(t, srv.Client().Set(context.Background(), "plume_log_list", "a string", 0).Err())
		return newSender(t, srv.Addr).Send(context.Background(), values(maxValuesPerCommand+1, 10))
	}},
	{name: "bad password is permanent", permanent: true, hides: "pw-Zq81", send: func(t *testing.T) error {
		srv := redistest.Start(t, "--requirepass", "secret")
		s := open(t, Config{Endpoint: Endpoint(srv.Addr), Password: "pw-Zq81", DialTimeout: time.Second}, "k")
		return s.Send(context.Background(), values(1, 10))
	}},
	{name: "no password is permanent", permanent: true, says: "NOAUTH", send: func(t *testing.T) error {
		srv := redistest.Start(t, "--requirepass", "secret")
		return newSender(t, srv.Addr).Send(context.Background(), values(1, 10))
	}},
	{name: "a user without the right to write the key is permanent", permanent: true, says: "NOPERM", send: func(t *testing.T) error {
		srv := redistest.Start(t, "--user", "reader", "on", ">pw", "~*", "+@read", "+@connection")
		s := open(t, Config{Endpoint: Endpoint(srv.Addr), Username: "reader", Password: "pw", DialTimeout: time.Second}, "plume_log_list")
		return s.Send(context.Background(), values(1, 10))
	}},
	{name: "a replica is transient", says: "READONLY", send: func(t *testing.T) error {
		_, replicas := redistest.StartReplicated(t, 1)
		return newSender(t, replicas[0].Addr).Send(context.Background(), values(1, 10))
	}},
	{name: "out of memory is transient", says: "OOM", send: func(t *testing.T) error {
		srv := redistest.Start(t, "--maxmemory", "1mb", "--maxmemory-policy", "noeviction")
		s := newSender(t, srv.Addr)
		var err error
		for i := 0; i < 100 && err == nil; i++ {
			err = s.Send(context.Background(), values(10, 10_000))
		}
		return err
	}},
	{name: "nothing listening is transient", send: func(t *testing.T) error {
		return newSender(t, testenv.Addr(t)).Send(context.Background(), values(1, 10))
	}},
}

func TestSendErrorClasses(t *testing.T) {
	for _, tt := range errorClasses {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.send(t)
			require.Error(t, err)
			assert.Equal(t, tt.permanent, consumererror.IsPermanent(err), "%v", err)
			if tt.says != "" {
				require.ErrorContains(t, err, tt.says)
			}
			if tt.hides != "" {
				assert.NotContains(t, err.Error(), tt.hides, "the password stays out of errors")
			}
		})
	}
}

func TestCommandsOfABatch(t *testing.T) {
	ends := func(batch [][]byte) []int {
		sc := &scratch{}
		args, ends := sc.prepare(batch)
		require.Len(t, args, len(batch))
		return ends
	}
	assert.Equal(t, []int{1}, ends(values(1, 10)))
	assert.Equal(t, []int{maxValuesPerCommand}, ends(values(maxValuesPerCommand, 10)))
	assert.Equal(t, []int{maxValuesPerCommand, maxValuesPerCommand + 1}, ends(values(maxValuesPerCommand+1, 10)))
	// A single value larger than the byte limit still forms a command of its own.
	assert.Equal(t, []int{1, 2}, ends([][]byte{make([]byte, maxBytesPerCommand+1), []byte("x")}))
}

// BenchmarkPrepare shows that handing a batch's messages to go-redis allocates nothing.
func BenchmarkPrepare(b *testing.B) {
	batch := values(100, 500)
	b.ReportAllocs()
	for b.Loop() {
		sc := scratchPool.Get().(*scratch)
		sc.prepare(batch)
		sc.release()
	}
}

// TestSendReturnsWhenCancelled cancels a Send whose reply a black hole swallows: it returns at
// once instead of at read_timeout, and the Sender is closed.
func TestSendReturnsWhenCancelled(t *testing.T) {
	srv := redistest.Start(t)
	proxy := faulttest.Start(t, srv.Addr)
	s := open(t, Config{Endpoint: Endpoint(proxy.Addr), DialTimeout: time.Second, ReadTimeout: time.Minute, WriteTimeout: time.Minute}, "plume_log_list")
	require.NoError(t, s.Send(context.Background(), values(1, 50)), "the connection is open before the black hole")
	proxy.AddBoth("blackhole", faulttest.BlackHole())

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	err := s.Send(ctx, values(10, 50))
	took := time.Since(start)
	require.Error(t, err)
	assert.Less(t, took, 10*time.Second, "Send waited for read_timeout")
	assert.GreaterOrEqual(t, took, 200*time.Millisecond, "Send ended at the cancellation, not before")
	require.ErrorIs(t, s.Send(context.Background(), values(1, 50)), redis.ErrClosed, "cancelling closed the Sender")
	require.NoError(t, s.Close())
}
