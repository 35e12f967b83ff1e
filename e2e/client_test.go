package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plumelog-otel/otelcol-plumelog/internal/otelcoltest"
)

// newSDKClient connects to a collector's OTLP/gRPC endpoint; see otelcoltest.NewClient.
func newSDKClient(t *testing.T, endpoint string, retry bool) *otelcoltest.Client {
	t.Helper()
	c, err := otelcoltest.NewClient(endpoint, retry)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Shutdown(context.Background()) })
	return c
}

// streamer sends requests of perCall numbered records every interval from its own
// goroutine, and counts what the collector acknowledged.
type streamer struct {
	client   *otelcoltest.Client
	perCall  int
	interval time.Duration
	// untilRefused ends the stream at the first request the collector does not acknowledge;
	// otherwise a request is sent until it is acknowledged (the client retries on its own).
	untilRefused bool

	mu       sync.Mutex
	acked    int // records acknowledged; ids 0 to acked-1
	attempts int // Export calls

	stopc chan struct{}
	done  chan struct{}
}

func (s *streamer) start() {
	s.stopc, s.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(s.done)
		tick := time.NewTicker(s.interval)
		defer tick.Stop()
		for {
			recs := s.client.Records(s.acknowledged(), s.perCall)
			for {
				s.mu.Lock()
				s.attempts++
				s.mu.Unlock()
				if s.client.Export(context.Background(), recs) == nil {
					break
				}
				if s.untilRefused {
					return
				}
				select {
				case <-s.stopc:
					return
				case <-tick.C:
				}
			}
			s.mu.Lock()
			s.acked += s.perCall
			s.mu.Unlock()
			select {
			case <-s.stopc:
				return
			case <-tick.C:
			}
		}
	}()
}

// acknowledged returns the number of records the collector acknowledged so far.
func (s *streamer) acknowledged() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.acked
}

// wait ends the stream (if it has not ended itself) and returns the records acknowledged.
func (s *streamer) wait() int {
	select {
	case <-s.done:
	default:
		close(s.stopc)
		<-s.done
	}
	return s.acknowledged()
}

// waitAcked waits until at least n records were acknowledged.
func (s *streamer) waitAcked(t *testing.T, n int) {
	t.Helper()
	require.Eventually(t, func() bool { return s.acknowledged() >= n }, 2*time.Minute, 10*time.Millisecond,
		"the collector acknowledged %d of %d records", s.acknowledged(), n)
}

// droppedInLogs adds up the records of the exporter's "Dropped records" lines in the
// collector's output, and returns the number of lines too.
func droppedInLogs(t *testing.T, output string) (records, lines int) {
	t.Helper()
	for line := range strings.Lines(output) {
		if !strings.Contains(line, "\tDropped records\t") {
			continue
		}
		var fields struct {
			Records int    `json:"records"`
			Reason  string `json:"reason"`
		}
		require.NoError(t, json.Unmarshal([]byte(line[strings.LastIndexByte(line, '\t')+1:]), &fields), line)
		require.NotEmpty(t, fields.Reason, line)
		records += fields.Records
		lines++
	}
	return records, lines
}
