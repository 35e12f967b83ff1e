package main

import (
	"context"
	"fmt"
	"strconv"
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
	logs := javaLogs(id, records)
	return &sender{conn: conn, client: plogotlp.NewGRPCClient(conn), logs: logs, req: plogotlp.NewExportRequestFromLogs(logs)}, nil
}

func (s *sender) close() { _ = s.conn.Close() }

// javaLogs is one request of an instrumented Java service, the records of the encoder's
// benchmark: a resource with six attributes, records with a ~100-byte message, five
// attributes and trace context.
func javaLogs(service, n int) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	ra := rl.Resource().Attributes()
	ra.PutStr("service.name", "order-svc")
	ra.PutStr("deployment.environment.name", "prod")
	ra.PutStr("host.name", "order-svc-7d9f8c6b5-x2k4p"+strconv.Itoa(service))
	ra.PutStr("service.version", "1.4.2")
	ra.PutStr("telemetry.sdk.language", "java")
	ra.PutInt("process.pid", int64(4242+service))
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("com.example.order.OrderService")
	for i := range n {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetSeverityNumber(plog.SeverityNumberInfo)
		lr.SetSeverityText("INFO")
		lr.Body().SetStr("Order " + strconv.Itoa(100000+i) + " created for customer c-5521: 3 items, total 129.90 EUR, payment pending (card)")
		lr.SetTraceID(pcommon.TraceID{0x6a, 0x1f, 0x0b, 0x8c, 0x3d, 0x2e, 0x4f, 0x50, 0x91, 0xa2, 0xb3, 0xc4, 0xd5, 0xe6, byte(service), byte(i)})
		lr.SetSpanID(pcommon.SpanID{0x9c, 0x1d, 0x2e, 0x3f, 0x4a, 0x5b, byte(service), byte(i)})
		la := lr.Attributes()
		la.PutStr("code.namespace", "com.example.order.OrderService")
		la.PutStr("code.function", "createOrder")
		la.PutStr("thread.name", "http-nio-8080-exec-"+strconv.Itoa(i%10))
		la.PutStr("http.route", "/api/v1/orders")
		la.PutStr("user.id", "c-5521")
	}
	return ld
}

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
