// Package sender writes batches of encoded messages to a Redis list with go-redis: on a
// standalone Redis, on the master that Redis Sentinel names, or on a Redis Cluster. It knows
// nothing of pdata or of the Plumelog message format: a batch is a list of opaque values.
package sender // import "github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/sender"

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"sync"

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

// Sender appends batches to one Redis list.
type Sender struct {
	client redis.UniversalClient
	// cluster is set in cluster mode, where batches are always sent as transactions.
	cluster *redis.ClusterClient
	key     string
}

// New creates a client for cfg, which Check accepted, that appends to key. tlsCfg secures
// every connection, to the sentinels as well; nil means plain TCP, unless the endpoint is a
// rediss:// URL. New does not connect: connections are made on first use, so a collector
// starts even while Redis is not up yet.
//
// The batcher owns retries and counts them per record, so no client retries a command on its
// own: after a timed-out or broken write the command may have run, and a silent retry would
// duplicate the batch behind the batcher's back (MaxRetries -1). A client still follows the
// topology: the failover client asks the sentinels for the current master on every new
// connection, and the cluster client follows MOVED and ASK redirects (see Send).
func New(cfg Config, tlsCfg *tls.Config, key string) (*Sender, error) {
	opts := &redis.UniversalOptions{
		Username:         cfg.Username,
		Password:         string(cfg.Password),
		DB:               cfg.DB,
		TLSConfig:        tlsCfg,
		DialTimeout:      cfg.DialTimeout,
		ReadTimeout:      cfg.ReadTimeout,
		WriteTimeout:     cfg.WriteTimeout,
		MaxRetries:       -1,
		DisableIdentity:  true,
		WriteBufferSize:  writeBufferSize,
		MasterName:       cfg.Sentinel.MasterName,
		SentinelUsername: cfg.Sentinel.Username,
		SentinelPassword: string(cfg.Sentinel.Password),
	}
	s := &Sender{key: key}
	switch {
	case cfg.Sentinel.IsSet():
		opts.Addrs = cfg.Sentinel.Addresses
		s.client = redis.NewFailoverClient(opts.Failover())
	case len(cfg.Cluster.Addresses) > 0:
		opts.Addrs = cfg.Cluster.Addresses
		s.cluster = redis.NewClusterClient(opts.Cluster())
		s.client = s.cluster
	default:
		single, err := standalone(opts, cfg.Endpoint)
		if err != nil {
			return nil, err
		}
		s.client = redis.NewClient(single)
	}
	return s, nil
}

// standalone returns the options of a standalone client of endpoint: those of a URL take the
// place of the keys it overlaps with, which Check made sure it does not contradict.
func standalone(opts *redis.UniversalOptions, endpoint Endpoint) (*redis.Options, error) {
	single := opts.Simple()
	single.Network, single.Addr = "tcp", string(endpoint)
	switch {
	case endpoint.isURL():
		u, err := endpoint.parse()
		if err != nil {
			return nil, err
		}
		single.Network, single.Addr = u.Network, u.Addr
		single.Username = cmp.Or(u.Username, single.Username)
		single.Password = cmp.Or(u.Password, single.Password)
		single.DB = cmp.Or(u.DB, single.DB)
		if single.TLSConfig == nil {
			single.TLSConfig = u.TLSConfig
		}
	case strings.HasPrefix(string(endpoint), "/"):
		single.Network = "unix"
	}
	return single, nil
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
	sc := scratchPool.Get().(*scratch)
	defer sc.release()
	args, ends := sc.prepare(batch)
	var err error
	if len(ends) == 1 && s.cluster == nil {
		err = s.client.RPush(ctx, s.key, args...).Err()
	} else {
		_, err = s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
			start := 0
			for _, end := range ends {
				p.RPush(ctx, s.key, args[start:end]...)
				start = end
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

// Close releases the client's connections.
func (s *Sender) Close() error {
	err := s.client.Close()
	if errors.Is(err, redis.ErrClosed) {
		return nil
	}
	return err
}

// value is a message as go-redis writes it: the writer takes an encoding.BinaryMarshaler as
// it is, and a pointer to the caller's slice element goes into an interface without the
// allocation that boxing the slice itself costs, once per message.
type value []byte

func (v *value) MarshalBinary() ([]byte, error) { return *v, nil }

// scratch is the reusable space of one Send: the command arguments and where each command of
// a batch ends.
type scratch struct {
	args []any
	ends []int
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// prepare returns the arguments for batch and the end of each command's share of them.
func (sc *scratch) prepare(batch [][]byte) (args []any, ends []int) {
	start, size := 0, 0
	for i := range batch {
		if i > start && (i-start == maxValuesPerCommand || size+len(batch[i]) > maxBytesPerCommand) {
			sc.ends = append(sc.ends, i)
			start, size = i, 0
		}
		size += len(batch[i])
		sc.args = append(sc.args, (*value)(&batch[i]))
	}
	sc.ends = append(sc.ends, len(batch))
	return sc.args, sc.ends
}

// release returns sc to the pool without the references to the batch.
func (sc *scratch) release() {
	clear(sc.args)
	sc.args, sc.ends = sc.args[:0], sc.ends[:0]
	scratchPool.Put(sc)
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
