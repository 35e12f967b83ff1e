package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc"
	otellog "go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
)

// sdkClient sends numbered log records with the OTel Go SDK's OTLP/gRPC exporter, one Export
// call per request, so that a test knows exactly which records the collector acknowledged.
// The records come from the SDK's own logger, so they carry a resource and a scope as an
// application's would.
type sdkClient struct {
	exp     *otlploggrpc.Exporter
	logger  otellog.Logger
	emitted *capture
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

// newSDKClient connects to a collector's OTLP/gRPC endpoint. With retry, an Export keeps
// trying through collector restarts, as an SDK in production does; without, it fails at the
// first refusal.
func newSDKClient(t *testing.T, endpoint string, retry bool) *sdkClient {
	t.Helper()
	rc := otlploggrpc.RetryConfig{Enabled: false}
	if retry {
		rc = otlploggrpc.RetryConfig{Enabled: true, InitialInterval: 50 * time.Millisecond, MaxInterval: time.Second, MaxElapsedTime: 2 * time.Minute}
	}
	exp, err := otlploggrpc.New(context.Background(), otlploggrpc.WithEndpoint(endpoint), otlploggrpc.WithInsecure(),
		otlploggrpc.WithRetry(rc), otlploggrpc.WithTimeout(2*time.Minute))
	require.NoError(t, err)
	t.Cleanup(func() { _ = exp.Shutdown(context.Background()) })
	emitted := &capture{}
	provider := sdklog.NewLoggerProvider(
		sdklog.WithResource(resource.NewSchemaless(attribute.String("service.name", "reliability"))),
		sdklog.WithProcessor(emitted),
	)
	return &sdkClient{exp: exp, logger: provider.Logger("com.example.Reliability"), emitted: emitted}
}

// records emits records with ids from to from+n-1 (attribute "id", body "record <id>").
func (c *sdkClient) records(from, n int) []sdklog.Record {
	c.emitted.records = c.emitted.records[:0]
	for i := from; i < from+n; i++ {
		var r otellog.Record
		r.SetTimestamp(time.Now())
		r.SetSeverity(otellog.SeverityInfo)
		r.SetBody(attribute.StringValue("record " + strconv.Itoa(i)))
		r.AddAttributes(attribute.Int("id", i))
		c.logger.Emit(context.Background(), r)
	}
	return c.emitted.records
}

// export sends records in one request; nil means the collector acknowledged them.
func (c *sdkClient) export(ctx context.Context, records []sdklog.Record) error {
	return c.exp.Export(ctx, records)
}

// streamer sends requests of perCall numbered records every interval from its own
// goroutine, and counts what the collector acknowledged.
type streamer struct {
	client   *sdkClient
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
			recs := s.client.records(s.acknowledged(), s.perCall)
			for {
				s.mu.Lock()
				s.attempts++
				s.mu.Unlock()
				if s.client.export(context.Background(), recs) == nil {
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

// idCounts reads the whole list, checks every element against the wire contract, and
// returns how often each id arrived.
func idCounts(t *testing.T, rdb *redis.Client) map[int]int {
	t.Helper()
	elements, err := rdb.LRange(context.Background(), "plume_log_list", 0, -1).Result()
	require.NoError(t, err)
	counts := map[int]int{}
	for _, m := range checkAll(t, elements) {
		id, err := strconv.Atoi(m["id"].(string))
		require.NoError(t, err)
		counts[id]++
	}
	return counts
}

// scrape reads the collector's own metrics and returns the sum of the series of name whose
// labels contain every one of labels (e.g. `reason="shutdown"`).
func (c *collector) scrape(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + c.Metrics + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
series:
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, name)
		if !ok || rest == "" || (rest[0] != ' ' && rest[0] != '{') {
			continue
		}
		for _, l := range labels {
			if !strings.Contains(rest, l) {
				continue series
			}
		}
		v, err := strconv.ParseFloat(rest[strings.LastIndexByte(rest, ' ')+1:], 64)
		require.NoError(t, err, line)
		sum += v
	}
	require.NoError(t, sc.Err())
	return sum
}

// droppedInLogs adds up the records of the exporter's "Dropped log records" lines in the
// collector's output, and returns the number of lines too.
func droppedInLogs(t *testing.T, output string) (records, lines int) {
	t.Helper()
	for line := range strings.Lines(output) {
		if !strings.Contains(line, "\tDropped log records\t") {
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
