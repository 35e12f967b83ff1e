package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/plumelog-otel/otelcol-plumelog/internal/plumelogtest"
)

// retryPause is how long a sender waits before it sends a refused request again. At the
// throughputs measured here the exporter delivers a few thousand records in that time, far less
// than its buffer holds, so the pause never lets the buffer run dry.
const retryPause = 5 * time.Millisecond

// sender is one OTLP/gRPC connection that sends the same request again and again, stamped
// anew each time, as one instrumented service would. The request is built once so that the
// benchmark spends its share of the two cores on sending, not on building records.
type sender struct {
	conn   *grpc.ClientConn
	client plogotlp.GRPCClient
	logs   plog.Logs
	req    plogotlp.ExportRequest
}

func newSender(endpoint string, id, records int) (*sender, error) {
	conn, err := grpc.NewClient(endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	logs := plumelogtest.JavaLogs(id, records)
	return &sender{conn: conn, client: plogotlp.NewGRPCClient(conn), logs: logs, req: plogotlp.NewExportRequestFromLogs(logs)}, nil
}

func (s *sender) close() { _ = s.conn.Close() }

// send sends the request until the collector accepts it, and returns how often it refused it.
// Only a refusal the collector marks as retryable is retried.
func (s *sender) send(ctx context.Context) (refused int64, err error) {
	for {
		now := pcommon.NewTimestampFromTime(time.Now())
		records := s.logs.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
		for i := range records.Len() {
			records.At(i).SetTimestamp(now)
			records.At(i).SetObservedTimestamp(now)
		}
		_, err := s.client.Export(ctx, s.req)
		switch status.Code(err) {
		case codes.OK:
			return refused, nil
		case codes.Unavailable, codes.ResourceExhausted:
			refused++
			time.Sleep(retryPause)
		default:
			return refused, err
		}
	}
}

// sendAll has every sender send its request n times, concurrently, and returns the refusals.
func sendAll(ctx context.Context, senders []*sender, n int) (int64, error) {
	var refused atomic.Int64
	errs := make([]error, len(senders))
	var wg sync.WaitGroup
	for i, s := range senders {
		wg.Go(func() {
			for range n {
				r, err := s.send(ctx)
				refused.Add(r)
				if err != nil {
					errs[i] = fmt.Errorf("sender %d: %w", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return refused.Load(), err
		}
	}
	return refused.Load(), nil
}
