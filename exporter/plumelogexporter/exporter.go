package plumelogexporter // import "github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter"

import (
	"context"
	"errors"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/batcher"
	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/encoder"
	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/sender"
)

// signalExporter moves one signal's encoded messages to its Redis list: each signal has its
// own batcher and sender over the same settings, so that a backlog of one never holds up the
// other.
type signalExporter struct {
	cfg      *Config
	settings component.TelemetrySettings
	encoder  *encoder.Encoder
	signal   string // "logs" or "traces"
	list     string // the Redis list the signal's messages go to
	// wait makes a push return only once Redis acknowledged its records (or they were
	// dropped): with a sending queue in front, a record must stay in the queue until then.
	wait bool

	sender    *sender.Sender
	batcher   *batcher.Batcher
	telemetry *telemetry
}

func newSignalExporter(cfg *Config, set exporter.Settings, signal, list string) (*signalExporter, error) {
	encCfg, err := cfg.Message.encoderConfig()
	if err != nil {
		return nil, err
	}
	return &signalExporter{
		cfg:      cfg,
		settings: set.TelemetrySettings,
		encoder:  encoder.New(encCfg),
		signal:   signal,
		list:     list,
		wait:     cfg.QueueConfig.HasValue(),
	}, nil
}

func (e *signalExporter) start(ctx context.Context, host component.Host) error {
	var err error
	if e.telemetry, err = newTelemetry(e.settings, host, e.signal); err != nil {
		return err
	}
	if e.sender, err = e.cfg.newSender(ctx, e.list); err != nil {
		return err
	}
	e.batcher = batcher.New(e.cfg.Batching, e.cfg.Lists.sendFunc(e.sender), e.telemetry)
	return e.telemetry.observeBuffer(e.batcher.Held)
}

// shutdown releases whatever start made, including after a start that failed midway.
func (e *signalExporter) shutdown(ctx context.Context) error {
	var errs []error
	if e.batcher != nil {
		errs = append(errs, e.batcher.Shutdown(ctx))
	}
	if e.sender != nil {
		errs = append(errs, e.sender.Close())
	}
	if e.telemetry != nil {
		e.telemetry.shutdown()
	}
	return errors.Join(errs...)
}

// push hands the messages of enc to the batcher, which releases them once it no longer holds
// any. With a sending queue it waits for their outcome, and returns the positions of the
// messages handed back for the queue to send again.
func (e *signalExporter) push(ctx context.Context, enc *encoder.Encoded) (handedBack []int, err error) {
	if !e.wait {
		return nil, e.batcher.Add(ctx, enc.Messages, enc.Release)
	}
	err = e.batcher.AddAndWait(ctx, enc.Messages, enc.Release)
	var hb *batcher.HandedBackError
	if errors.As(err, &hb) {
		return hb.Positions, err
	}
	return nil, err
}

type logsExporter struct{ *signalExporter }

func (e logsExporter) pushLogs(ctx context.Context, ld plog.Logs) error {
	if e.batcher.Refuses(ld.LogRecordCount()) {
		// Under overload most requests are refused: refuse them before encoding them.
		return batcher.ErrBufferFull
	}
	enc := e.encoder.Logs(ld)
	handedBack, err := e.push(ctx, &enc)
	if handedBack != nil {
		// The sending queue retries only what was not delivered: resending the whole
		// request would duplicate its delivered records.
		return consumererror.NewLogs(err, logsAt(ld, handedBack))
	}
	return err
}

type tracesExporter struct{ *signalExporter }

func (e tracesExporter) pushTraces(ctx context.Context, td ptrace.Traces) error {
	if e.batcher.Refuses(2 * td.SpanCount()) {
		return batcher.ErrBufferFull
	}
	enc, skipped := e.encoder.Traces(td)
	if skipped > 0 {
		e.telemetry.skippedSpans(skipped)
	}
	handedBack, err := e.push(ctx, &enc)
	if handedBack != nil {
		return consumererror.NewTraces(err, spansAt(td, handedBack))
	}
	return err
}
