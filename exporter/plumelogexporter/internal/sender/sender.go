// Package sender writes batches of encoded messages to a Redis list with go-redis. It knows
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

// Config is what the sender needs to reach Redis.
type Config struct {
	// Endpoint is host:port, or a unix socket path (absolute or with a unix:// prefix).
	Endpoint     string
	Username     string
	Password     string
	DB           int
	TLS          *tls.Config
	DialTimeout  time.Duration
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
	// Key is the list every batch is appended to.
	Key string
}

// Sender appends batches to one Redis list.
type Sender struct {
	client redis.UniversalClient
	key    string
}

// New creates the client. It does not connect: connections are made on first use, so a
// collector starts even while Redis is not up yet.
func New(cfg Config) *Sender {
	network, addr := "tcp", cfg.Endpoint
	if path, ok := unixSocketPath(cfg.Endpoint); ok {
		network, addr = "unix", path
	}
	client := redis.NewClient(&redis.Options{
		Network:      network,
		Addr:         addr,
		Username:     cfg.Username,
		Password:     cfg.Password,
		DB:           cfg.DB,
		TLSConfig:    cfg.TLS,
		DialTimeout:  cfg.DialTimeout,
		ReadTimeout:  cfg.ReadTimeout,
		WriteTimeout: cfg.WriteTimeout,
		// The batcher owns retries and counts them per record; a silent retry inside the
		// client after a timed-out write would duplicate a batch behind its back.
		MaxRetries:      -1,
		DisableIdentity: true,
	})
	return &Sender{client: client, key: cfg.Key}
}

func unixSocketPath(endpoint string) (string, bool) {
	if p, ok := strings.CutPrefix(endpoint, "unix://"); ok {
		return p, true
	}
	return endpoint, strings.HasPrefix(endpoint, "/")
}

// Send appends batch to the list, all or nothing: one variadic RPUSH when the batch fits in
// one command, otherwise a MULTI/EXEC transaction of several, so that a failure never leaves
// part of a batch behind to be duplicated by the retry. Errors that retrying cannot fix are
// wrapped with consumererror.NewPermanent.
func (s *Sender) Send(ctx context.Context, batch [][]byte) error {
	if len(batch) == 0 {
		return nil
	}
	chunks := splitChunks(batch)
	var err error
	if len(chunks) == 1 {
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

// isPermanent reports the Redis errors that the same command will hit again: the key holds
// another type, or the credentials or ACL rules refuse the client.
func isPermanent(err error) bool {
	return redis.HasErrorPrefix(err, "WRONGTYPE") || redis.IsAuthError(err) || redis.IsPermissionError(err)
}
