package plumelogexporter // import "github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter"

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/batcher"
	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/metadata"
)

// telemetry turns the batcher's events into the component's metrics, log lines and status.
// It implements batcher.Observer. Every measurement carries the signal, "logs" or "traces":
// one exporter block serves both, with an instance and metrics of each.
type telemetry struct {
	metrics *metadata.TelemetryBuilder
	logger  *zap.Logger
	status  *statusReporter
	// The attribute options, built once so that recording a metric allocates nothing.
	signal   metric.MeasurementOption
	triggers [batcher.NumTriggers]metric.MeasurementOption
	reasons  [batcher.NumDropReasons]metric.MeasurementOption
	invalid  metric.MeasurementOption
}

func newTelemetry(set component.TelemetrySettings, host component.Host, signal string) (*telemetry, error) {
	metrics, err := metadata.NewTelemetryBuilder(set)
	if err != nil {
		return nil, err
	}
	logger := set.Logger.With(zap.String("signal", signal))
	t := &telemetry{metrics: metrics, logger: logger, status: &statusReporter{host: host, logger: logger}}
	with := func(kv ...attribute.KeyValue) metric.MeasurementOption {
		return metric.WithAttributeSet(attribute.NewSet(append(kv, attribute.String("signal", signal))...))
	}
	t.signal = with()
	for tr := range batcher.NumTriggers {
		t.triggers[tr] = with(attribute.String("trigger", tr.String()))
	}
	for r := range batcher.NumDropReasons {
		t.reasons[r] = with(attribute.String("reason", r.String()))
	}
	t.invalid = with(attribute.String("reason", reasonInvalid))
	return t, nil
}

// observeBuffer reports what held returns as the buffer gauges.
func (t *telemetry) observeBuffer(held func() (records, bytes int)) error {
	if err := t.metrics.RegisterPlumelogExporterBufferRecordsCallback(func(_ context.Context, o metric.Int64Observer) error {
		records, _ := held()
		o.Observe(int64(records), t.signal)
		return nil
	}); err != nil {
		return err
	}
	return t.metrics.RegisterPlumelogExporterBufferBytesCallback(func(_ context.Context, o metric.Int64Observer) error {
		_, bytes := held()
		o.Observe(int64(bytes), t.signal)
		return nil
	})
}

// shutdown ends status reporting, from which the collector has moved on, and the callbacks.
func (t *telemetry) shutdown() {
	t.status.stop()
	t.metrics.Shutdown()
}

func (t *telemetry) Flushed(trigger batcher.Trigger, records int) {
	ctx := context.Background()
	t.metrics.PlumelogExporterFlushes.Add(ctx, 1, t.triggers[trigger])
	t.metrics.PlumelogExporterBatchSize.Record(ctx, int64(records), t.signal)
}

// Delivered records one latency per batch, not per record: a histogram update per record
// was a tenth of the exporter's CPU at full load. The summed wait keeps the mean per record.
func (t *telemetry) Delivered(records int, oldest, total time.Duration) {
	ctx := context.Background()
	t.metrics.PlumelogExporterRecordsSent.Add(ctx, int64(records), t.signal)
	t.metrics.PlumelogExporterDeliveryLatency.Record(ctx, oldest.Seconds(), t.signal)
	t.metrics.PlumelogExporterDeliveryWait.Add(ctx, total.Seconds(), t.signal)
	t.status.delivered()
}

func (t *telemetry) Retried(records int, err error) {
	t.metrics.PlumelogExporterRecordsRetried.Add(context.Background(), int64(records), t.signal)
	t.status.failed(err)
	t.logger.Debug("Redis did not take a batch; it will be sent again", zap.Int("records", records), zap.Error(err))
}

func (t *telemetry) Dropped(records int, reason batcher.DropReason, err error) {
	t.metrics.PlumelogExporterRecordsDropped.Add(context.Background(), int64(records), t.reasons[reason])
	t.logger.Error("Dropped records",
		zap.Int("records", records), zap.Stringer("reason", reason), zap.Error(err))
	if reason != batcher.DropShutdown {
		t.status.failed(err)
	}
}

// reasonInvalid is the drop reason of spans that cannot be placed in a trace.
const reasonInvalid = "invalid"

// skippedSpans reports spans that yielded no trace events: without a trace id or any
// timestamp, the trace view could not place them. Like every count of the traces signal, the
// drop counts events, two per span.
func (t *telemetry) skippedSpans(spans int) {
	t.metrics.PlumelogExporterRecordsDropped.Add(context.Background(), 2*int64(spans), t.invalid)
	t.logger.Warn("Dropped spans without a trace id or timestamps", zap.Int("spans", spans), zap.String("reason", reasonInvalid))
}

// statusReporter tells the collector, and through it the health_check extension, whether
// Redis takes the exporter's batches: a recoverable error from the first failed batch, OK
// from the next delivered one. It reports changes only, so a long outage is one event, not
// one per retry.
type statusReporter struct {
	host   component.Host
	logger *zap.Logger

	mu      sync.Mutex
	failing bool
	// stopped ends reporting at shutdown: the collector has moved the component to Stopping,
	// from which OK is not a valid transition.
	stopped bool
}

// delivered records that Redis took a batch.
func (s *statusReporter) delivered() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.failing || s.stopped {
		return
	}
	s.failing = false
	s.logger.Info("Redis takes batches again")
	componentstatus.ReportStatus(s.host, componentstatus.NewEvent(componentstatus.StatusOK))
}

// failed records that Redis refused a batch. Permanent refusals count too: the key or the
// credentials can be fixed while the collector runs, and the next delivered batch reports OK.
func (s *statusReporter) failed(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failing || s.stopped {
		return
	}
	s.failing = true
	s.logger.Warn("Redis refused a batch; the exporter reports itself unhealthy until one is delivered", zap.Error(err))
	componentstatus.ReportStatus(s.host, componentstatus.NewRecoverableErrorEvent(err))
}

func (s *statusReporter) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopped = true
}
