package plumelogexporter // import "github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter"

import (
	"context"
	"errors"
	"net"
	"os"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/batcher"
	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/encoder"
	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/metadata"
	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/sender"
)

// logsExporter encodes each pushed plog.Logs into Plumelog messages and hands them to the
// batcher, which sends them to Redis through the sender.
type logsExporter struct {
	cfg      *Config
	settings component.TelemetrySettings
	logger   *zap.Logger
	encoder  *encoder.Encoder
	// wait makes a push return only once Redis acknowledged its records (or they were
	// dropped): with a sending queue in front, a record must stay in the queue until then.
	wait bool

	sender    *sender.Sender
	batcher   *batcher.Batcher
	telemetry *metadata.TelemetryBuilder
	attrs     telemetryAttrs
	status    *statusReporter
}

func newLogsExporter(cfg *Config, set exporter.Settings) (*logsExporter, error) {
	loc, err := time.LoadLocation(cfg.Timezone)
	if err != nil {
		return nil, err
	}
	serverName := cfg.ServerName
	if serverName == "" {
		serverName = hostIPv4()
	}
	m := cfg.Mapping
	enc := encoder.New(encoder.Config{
		AppName:         cfg.AppName,
		Env:             cfg.Env,
		ServerName:      serverName,
		Location:        loc,
		MaxContentBytes: cfg.MaxContentSize,
		Mapping: encoder.Mapping{
			AppName:    m.AppName,
			Env:        m.Env,
			ServerName: m.ServerName,
			ClassName:  m.ClassName,
			Method:     m.Method,
			ThreadName: m.ThreadName,
			Stacktrace: m.Stacktrace,
		},
	})
	return &logsExporter{
		cfg:      cfg,
		settings: set.TelemetrySettings,
		logger:   set.Logger,
		encoder:  enc,
		wait:     cfg.QueueConfig.HasValue(),
	}, nil
}

func (e *logsExporter) start(ctx context.Context, host component.Host) error {
	e.status = newStatusReporter(host, e.logger)
	tlsCfg, err := e.cfg.TLS.LoadTLSConfig(ctx)
	if err != nil {
		return err
	}
	tb, err := metadata.NewTelemetryBuilder(e.settings)
	if err != nil {
		return err
	}
	e.telemetry = tb
	e.attrs = newTelemetryAttrs()
	e.sender = newSender(e.cfg, tlsCfg)
	e.batcher = batcher.New(batcher.Config{
		BatchSize:       e.cfg.BatchSize,
		FlushInterval:   e.cfg.FlushInterval,
		Mode:            batcher.Mode(e.cfg.Mode),
		MinLinger:       e.cfg.MinLinger,
		Concurrency:     e.cfg.MaxInFlight,
		MaxQueueRecords: e.cfg.Buffer.MaxRecords,
		MaxQueueBytes:   e.cfg.Buffer.MaxBytes,
		BlockTimeout:    e.cfg.Buffer.BlockTimeout,
		MaxRetries:      e.cfg.MaxRetries,
		Backoff: batcher.Backoff{
			Initial:    e.cfg.Backoff.InitialInterval,
			Max:        e.cfg.Backoff.MaxInterval,
			Multiplier: e.cfg.Backoff.Multiplier,
			Jitter:     e.cfg.Backoff.Jitter,
		},
	}, sendFunc(e.cfg, e.sender), e)
	return tb.RegisterPlumelogExporterQueueSizeCallback(func(_ context.Context, o metric.Int64Observer) error {
		records, _ := e.batcher.Held()
		o.Observe(int64(records))
		return nil
	})
}

func (e *logsExporter) shutdown(ctx context.Context) error {
	var errs []error
	if e.status != nil {
		e.status.stop()
	}
	if e.batcher != nil {
		errs = append(errs, e.batcher.Shutdown(ctx))
	}
	if e.sender != nil {
		errs = append(errs, e.sender.Close())
	}
	if e.telemetry != nil {
		e.telemetry.Shutdown()
	}
	return errors.Join(errs...)
}

func (e *logsExporter) pushLogs(ctx context.Context, ld plog.Logs) error {
	msgs := e.encoder.EncodeLogs(ld)
	if e.wait {
		return e.batcher.AddAndWait(ctx, msgs)
	}
	return e.batcher.Add(ctx, msgs)
}

// telemetryAttrs holds the attribute options of every reason and trigger, built once so
// that recording a metric allocates nothing.
type telemetryAttrs struct {
	drop    map[batcher.DropReason]metric.MeasurementOption
	trigger map[batcher.Trigger]metric.MeasurementOption
}

func newTelemetryAttrs() telemetryAttrs {
	a := telemetryAttrs{
		drop:    map[batcher.DropReason]metric.MeasurementOption{},
		trigger: map[batcher.Trigger]metric.MeasurementOption{},
	}
	for _, r := range []batcher.DropReason{batcher.DropRetriesExhausted, batcher.DropPermanentError, batcher.DropShutdown} {
		a.drop[r] = metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", string(r))))
	}
	for _, t := range []batcher.Trigger{batcher.TriggerSize, batcher.TriggerAge, batcher.TriggerIdle, batcher.TriggerShutdown} {
		a.trigger[t] = metric.WithAttributeSet(attribute.NewSet(attribute.String("trigger", string(t))))
	}
	return a
}

// The batcher.Observer methods turn the batcher's events into the component's telemetry.

func (e *logsExporter) Flushed(trigger batcher.Trigger, records int) {
	ctx := context.Background()
	e.telemetry.PlumelogExporterFlushes.Add(ctx, 1, e.attrs.trigger[trigger])
	e.telemetry.PlumelogExporterBatchSize.Record(ctx, int64(records))
}

func (e *logsExporter) Delivered(latencies []time.Duration) {
	ctx := context.Background()
	e.telemetry.PlumelogExporterRecordsSent.Add(ctx, int64(len(latencies)))
	e.status.delivered()
	for _, l := range latencies {
		e.telemetry.PlumelogExporterDeliveryLatency.Record(ctx, l.Seconds())
	}
}

func (e *logsExporter) Retried(records int, err error) {
	e.telemetry.PlumelogExporterRecordsRetried.Add(context.Background(), int64(records))
	e.status.failed(err)
	e.logger.Debug("Redis rejected a batch; it will be retried", zap.Int("records", records), zap.Error(err))
}

func (e *logsExporter) Dropped(records int, reason batcher.DropReason, err error) {
	e.telemetry.PlumelogExporterRecordsDropped.Add(context.Background(), int64(records), e.attrs.drop[reason])
	e.logger.Error("Dropped log records",
		zap.Int("records", records), zap.String("reason", string(reason)), zap.Error(err))
	if reason != batcher.DropShutdown {
		e.status.failed(err)
	}
}

// hostIPv4 returns the host's first non-loopback IPv4 address, which is what Plumelog's
// Java client sends as serverName, or the host name when there is none.
func hostIPv4() string {
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if ipNet, ok := a.(*net.IPNet); ok && !ipNet.IP.IsLoopback() {
				if ip4 := ipNet.IP.To4(); ip4 != nil {
					return ip4.String()
				}
			}
		}
	}
	if name, err := os.Hostname(); err == nil {
		return name
	}
	return "unknown"
}
