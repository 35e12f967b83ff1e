package plumelogexporter // import "github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter"

import (
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.uber.org/zap"
)

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

func newStatusReporter(host component.Host, logger *zap.Logger) *statusReporter {
	return &statusReporter{host: host, logger: logger}
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

// stop ends reporting.
func (s *statusReporter) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopped = true
}
