package otelcoltest

import (
	"context"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc"
	otellog "go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
)

// Client sends log records with the OTel Go SDK's OTLP/gRPC exporter, one Export call per
// request, so that its caller knows exactly which records the collector acknowledged. The
// records come from the SDK's own logger, so they carry a resource and a scope as an
// application's would.
type Client struct {
	exp     *otlploggrpc.Exporter
	logger  otellog.Logger
	emitted capture
}

// capture is an SDK log processor that keeps what the logger emits.
type capture struct{ records []sdklog.Record }

func (*capture) Enabled(context.Context, sdklog.EnabledParameters) bool { return true }
func (*capture) Shutdown(context.Context) error                         { return nil }
func (*capture) ForceFlush(context.Context) error                       { return nil }

func (c *capture) OnEmit(_ context.Context, r *sdklog.Record) error {
	c.records = append(c.records, r.Clone())
	return nil
}

// NewClient connects to a collector's OTLP/gRPC endpoint. With retry, an Export keeps trying
// through collector restarts, as an SDK in production does; without, it fails at the first
// refusal.
func NewClient(endpoint string, retry bool) (*Client, error) {
	return NewClientWithResource(endpoint, retry,
		attribute.String("service.name", "soak"), attribute.String("host.name", "soak-host"))
}

// NewClientWithResource is NewClient for an application whose resource has the attributes res.
func NewClientWithResource(endpoint string, retry bool, res ...attribute.KeyValue) (*Client, error) {
	rc := otlploggrpc.RetryConfig{Enabled: false}
	if retry {
		rc = otlploggrpc.RetryConfig{Enabled: true, InitialInterval: 50 * time.Millisecond, MaxInterval: time.Second, MaxElapsedTime: 2 * time.Minute}
	}
	exp, err := otlploggrpc.New(context.Background(), otlploggrpc.WithEndpoint(endpoint), otlploggrpc.WithInsecure(),
		otlploggrpc.WithRetry(rc), otlploggrpc.WithTimeout(2*time.Minute))
	if err != nil {
		return nil, err
	}
	c := &Client{exp: exp}
	provider := sdklog.NewLoggerProvider(
		sdklog.WithResource(resource.NewSchemaless(res...)),
		sdklog.WithProcessor(&c.emitted),
	)
	c.logger = provider.Logger("com.example.Soak")
	return c, nil
}

// Emit passes records through the SDK's logger and returns them as the SDK exports them. The
// slice is reused by the next call.
func (c *Client) Emit(records ...otellog.Record) []sdklog.Record {
	c.emitted.records = c.emitted.records[:0]
	for _, r := range records {
		c.logger.Emit(context.Background(), r)
	}
	return c.emitted.records
}

// Records emits n records with ids from to from+n-1 (attribute "id"), stamped now, and
// returns them. The slice is reused by the next call. Their size is the soak's reference
// load: changing it changes the throughput figures the README quotes.
func (c *Client) Records(from, n int) []sdklog.Record {
	now := time.Now()
	records := make([]otellog.Record, n)
	for i := range records {
		id := from + i
		r := &records[i]
		r.SetTimestamp(now)
		r.SetSeverity(otellog.SeverityInfo)
		r.SetBody(attribute.StringValue("soak record " + strconv.Itoa(id) + " order created, amount=42.00 EUR"))
		r.AddAttributes(attribute.Int("id", id), attribute.String("thread.name", "worker-"+strconv.Itoa(id%8)))
	}
	return c.Emit(records...)
}

// Export sends records in one request; nil means the collector acknowledged them.
func (c *Client) Export(ctx context.Context, records []sdklog.Record) error {
	return c.exp.Export(ctx, records)
}

// Shutdown closes the connection.
func (c *Client) Shutdown(ctx context.Context) error { return c.exp.Shutdown(ctx) }
