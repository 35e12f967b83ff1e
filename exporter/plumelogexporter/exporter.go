package plumelogexporter // import "github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter"

import (
	"context"
	"errors"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/batcher"
	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/encoder"
	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/sender"
)

// logsExporter encodes each pushed plog.Logs into Plumelog messages and hands them to the
// batcher, which sends them to Redis through the sender.
type logsExporter struct {
	cfg      *Config
	settings component.TelemetrySettings
	encoder  *encoder.Encoder
	// wait makes a push return only once Redis acknowledged its records (or they were
	// dropped): with a sending queue in front, a record must stay in the queue until then.
	wait bool

	sender    *sender.Sender
	batcher   *batcher.Batcher
	telemetry *telemetry
}

func newLogsExporter(cfg *Config, set exporter.Settings) (*logsExporter, error) {
	encCfg, err := cfg.Message.encoderConfig()
	if err != nil {
		return nil, err
	}
	return &logsExporter{
		cfg:      cfg,
		settings: set.TelemetrySettings,
		encoder:  encoder.New(encCfg),
		wait:     cfg.QueueConfig.HasValue(),
	}, nil
}

func (e *logsExporter) start(ctx context.Context, host component.Host) error {
	var err error
	if e.telemetry, err = newTelemetry(e.settings, host); err != nil {
		return err
	}
	if e.sender, err = e.cfg.newSender(ctx, e.cfg.Lists.logsList()); err != nil {
		return err
	}
	e.batcher = batcher.New(e.cfg.Batching, e.cfg.Lists.sendFunc(e.sender), e.telemetry)
	return e.telemetry.observeBuffer(e.batcher.Held)
}

// shutdown releases whatever start made, including after a start that failed midway.
func (e *logsExporter) shutdown(ctx context.Context) error {
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

func (e *logsExporter) pushLogs(ctx context.Context, ld plog.Logs) error {
	msgs := e.encoder.EncodeLogs(ld)
	if !e.wait {
		return e.batcher.Add(ctx, msgs)
	}
	err := e.batcher.AddAndWait(ctx, msgs)
	if handedBack := (*batcher.HandedBackError)(nil); errors.As(err, &handedBack) {
		// The sending queue retries only what was not delivered: resending the whole
		// request would duplicate its delivered records.
		return consumererror.NewLogs(err, logsAt(ld, handedBack.Positions))
	}
	return err
}

// logsAt returns a copy of ld that keeps only the records at positions, which count records
// in ld's order and ascend.
func logsAt(ld plog.Logs, positions []int) plog.Logs {
	out := plog.NewLogs()
	ld.CopyTo(out)
	i := 0
	out.ResourceLogs().RemoveIf(func(rl plog.ResourceLogs) bool {
		rl.ScopeLogs().RemoveIf(func(sl plog.ScopeLogs) bool {
			sl.LogRecords().RemoveIf(func(plog.LogRecord) bool {
				keep := len(positions) > 0 && positions[0] == i
				if keep {
					positions = positions[1:]
				}
				i++
				return !keep
			})
			return sl.LogRecords().Len() == 0
		})
		return rl.ScopeLogs().Len() == 0
	})
	return out
}
