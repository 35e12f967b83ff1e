// Package sender writes batches of encoded messages to a Redis list with go-redis: on a
// standalone Redis, on the master that Redis Sentinel names, or on a Redis Cluster. It knows
// nothing of pdata or of the Plumelog message format: a batch is a list of opaque values.
package sender // import "github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/sender"

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/collector/consumer/consumererror"
)

// Command limits: Redis accepts far larger commands, but a bounded command keeps one slow
// write from holding a connection, and the server's query buffer, for long.
const (
	maxValuesPerCommand = 10_000
	maxBytesPerCommand  = 8 << 20
)

// writeBufferSize holds a whole batch of a thousand typical messages, so that a batch goes to
// the socket in one write instead of one per 32 KiB (go-redis's default): fewer system calls
// here and fewer partial reads in Redis, which the load benchmark measured as more throughput.
// Each connection has one, allocated when the connection is made.
const writeBufferSize = 1 << 20

// Config is what the sender needs to reach Redis. Sentinel is used when its MasterName is
// set, else Cluster when it lists addresses, else the standalone Endpoint.
type Config struct {
	// Endpoint is host:port, or a unix socket path (absolute or with a unix:// prefix).
	Endpoint string
	Sentinel Sentinel
	// Cluster lists seed nodes of a Redis Cluster; the client discovers the others.
	Cluster []string

	// Username and Password authenticate with the Redis nodes (not with the sentinels).
	Username string
	Password string
	DB       int
	// TLS, when set, secures every connection, to the sentinels as well.
	TLS          *tls.Config
	DialTimeout  time.Duration
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
	// Key is the list every batch is appended to.
	Key string
}

// Sentinel locates the master through Redis Sentinel.
type Sentinel struct {
	MasterName string
	Addrs      []string
	Username   string
	Password   string
}

// Sender appends batches to one Redis list.
type Sender struct {
	client redis.UniversalClient
	// cluster is set in cluster mode, where batches are always sent as transactions.
	cluster *redis.ClusterClient
	key     string
}

// New creates the client. It does not connect: connections are made on first use, so a
// collector starts even while Redis is not up yet.
//
// The batcher owns retries and counts them per record, so no client retries a command on its
// own: after a timed-out or broken write the command may have run, and a silent retry would
// duplicate the batch behind the batcher's back (MaxRetries -1). A client still follows the
// topology: the failover client asks the sentinels for the current master on every new
// connection, and the cluster client follows MOVED and ASK redirects (see Send).
func New(cfg Config) *Sender {
	opts := &redis.UniversalOptions{
		Username:         cfg.Username,
		Password:         cfg.Password,
		DB:               cfg.DB,
		TLSConfig:        cfg.TLS,
		DialTimeout:      cfg.DialTimeout,
		ReadTimeout:      cfg.ReadTimeout,
		WriteTimeout:     cfg.WriteTimeout,
		MaxRetries:       -1,
		DisableIdentity:  true,
		WriteBufferSize:  writeBufferSize,
		MasterName:       cfg.Sentinel.MasterName,
		SentinelUsername: cfg.Sentinel.Username,
		SentinelPassword: cfg.Sentinel.Password,
	}
	s := &Sender{key: cfg.Key}
	switch {
	case cfg.Sentinel.MasterName != "":
		opts.Addrs = cfg.Sentinel.Addrs
		s.client = redis.NewFailoverClient(opts.Failover())
	case len(cfg.Cluster) > 0:
		opts.Addrs = cfg.Cluster
		s.cluster = redis.NewClusterClient(opts.Cluster())
		s.client = s.cluster
	default:
		single := opts.Simple()
		single.Network, single.Addr = "tcp", cfg.Endpoint
		if path, ok := UnixSocketPath(cfg.Endpoint); ok {
			single.Network, single.Addr = "unix", path
		}
		s.client = redis.NewClient(single)
	}
	return s
}

// UnixSocketPath returns the socket path of an endpoint that names one: an absolute path, or
// one with a unix:// prefix.
func UnixSocketPath(endpoint string) (string, bool) {
	if p, ok := strings.CutPrefix(endpoint, "unix://"); ok {
		return p, true
	}
	return endpoint, strings.HasPrefix(endpoint, "/")
}

// Send appends batch to the list, all or nothing: one variadic RPUSH when the batch fits in
// one command, otherwise a MULTI/EXEC transaction of several, so that a failure never leaves
// part of a batch behind to be duplicated by the retry. Errors that retrying cannot fix are
// wrapped with consumererror.NewPermanent.
//
// On a Redis Cluster every batch is a transaction. The cluster client re-sends a plain
// command after a timeout or a broken connection, when RPUSH may already have run; a
// transaction it re-sends only when the server cannot have run it (the write failed, or the
// reply was MOVED, ASK, TRYAGAIN or CLUSTERDOWN), and it follows MOVED and ASK at once.
//
// Cancelling ctx closes the Sender: go-redis looks at ctx only between commands, so a command
// whose reply a silent network swallows would otherwise hold Send for read_timeout, past the
// deadline of the Shutdown that cancelled it. Cancel ctx only to stop using the Sender.
func (s *Sender) Send(ctx context.Context, batch [][]byte) error {
	if len(batch) == 0 {
		return nil
	}
	defer context.AfterFunc(ctx, func() { _ = s.client.Close() })()
	chunks := splitChunks(batch)
	var err error
	if len(chunks) == 1 && s.cluster == nil {
		err = s.client.RPush(ctx, s.key, args(chunks[0])...).Err()
	} else {
		_, err = s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
			for _, c := range chunks {
				p.RPush(ctx, s.key, args(c)...)
			}
			return nil
		})
	}
	if err == nil {
		return nil
	}
	if s.cluster != nil {
		// The slot map is otherwise refreshed only on MOVED or once a minute: after a node
		// failed over, the retry must find its replacement.
		s.cluster.ReloadState(ctx)
	}
	err = fmt.Errorf("RPUSH %s: %w", s.key, err)
	if isPermanent(err) {
		return consumererror.NewPermanent(err)
	}
	return err
}

// Ping checks that Redis answers.
func (s *Sender) Ping(ctx context.Context) error {
	return s.client.Ping(ctx).Err()
}

// Close releases the client's connections.
func (s *Sender) Close() error {
	err := s.client.Close()
	if errors.Is(err, redis.ErrClosed) {
		return nil
	}
	return err
}

func splitChunks(batch [][]byte) [][][]byte {
	var chunks [][][]byte
	start, size := 0, 0
	for i, v := range batch {
		if i > start && (i-start == maxValuesPerCommand || size+len(v) > maxBytesPerCommand) {
			chunks = append(chunks, batch[start:i])
			start, size = i, 0
		}
		size += len(v)
	}
	return append(chunks, batch[start:])
}

func args(values [][]byte) []any {
	out := make([]any, len(values))
	for i, v := range values {
		out[i] = v
	}
	return out
}

// isPermanent reports the errors that sending the same batch again would meet again: the key
// holds another type (WRONGTYPE), the credentials or the ACL rules refuse the client (NOAUTH,
// WRONGPASS, NOPERM), or the server's certificate does not verify. Everything else is
// transient: connection failures, timeouts, and replies such as LOADING, OOM, BUSY,
// READONLY, TRYAGAIN, MASTERDOWN and CLUSTERDOWN, which a restart, a failover or time cures.
func isPermanent(err error) bool {
	var certErr *tls.CertificateVerificationError
	return redis.HasErrorPrefix(err, "WRONGTYPE") || redis.IsAuthError(err) || redis.IsPermissionError(err) ||
		errors.As(err, &certErr)
}
