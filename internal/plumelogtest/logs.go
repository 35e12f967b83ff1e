package plumelogtest

import (
	"strconv"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// Logs builds one request of n log records with the ids first to first+n-1, as an
// instrumented service sends them: one resource (service.name "order-svc",
// deployment.environment.name "prod") and one scope ("com.example.OrderService"), each
// record stamped now, at severity INFO, with the body "order <id>" and the attribute "id",
// which the exporter writes as the message's "id" field. Options change that shape.
func Logs(first, n int, opts ...LogsOption) plog.Logs {
	s := shape{
		service:  "order-svc",
		scope:    "com.example.OrderService",
		severity: plog.SeverityNumberInfo,
		body:     func(id int) string { return "order " + strconv.Itoa(id) },
		attributes: func(id int, attrs pcommon.Map) {
			attrs.PutInt("id", int64(id))
		},
	}
	for _, o := range opts {
		o(&s)
	}
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	ra := rl.Resource().Attributes()
	ra.PutStr("service.name", s.service)
	ra.PutStr("deployment.environment.name", "prod")
	if s.resource != nil {
		s.resource(ra)
	}
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName(s.scope)
	now := pcommon.NewTimestampFromTime(time.Now())
	for id := first; id < first+n; id++ {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetTimestamp(now)
		lr.SetSeverityNumber(s.severity)
		lr.Body().SetStr(s.body(id))
		s.attributes(id, lr.Attributes())
		if s.record != nil {
			s.record(id, lr)
		}
	}
	return ld
}

// LogsOption changes the shape of the records Logs builds.
type LogsOption func(*shape)

type shape struct {
	service    string
	resource   func(pcommon.Map)
	scope      string
	severity   plog.SeverityNumber
	body       func(id int) string
	attributes func(id int, attrs pcommon.Map)
	record     func(id int, lr plog.LogRecord)
}

// Service names the resource's service.name, which the exporter maps to appName.
func Service(name string) LogsOption { return func(s *shape) { s.service = name } }

// Resource adds resource attributes after service.name and deployment.environment.name.
func Resource(add func(attrs pcommon.Map)) LogsOption {
	return func(s *shape) { s.resource = add }
}

// Scope names the instrumentation scope, which the exporter maps to className.
func Scope(name string) LogsOption { return func(s *shape) { s.scope = name } }

// Severity sets every record's severity number.
func Severity(sev plog.SeverityNumber) LogsOption { return func(s *shape) { s.severity = sev } }

// Body sets each record's body from its id.
func Body(body func(id int) string) LogsOption { return func(s *shape) { s.body = body } }

// Attributes puts each record's attributes in place of the attribute "id".
func Attributes(put func(id int, attrs pcommon.Map)) LogsOption {
	return func(s *shape) { s.attributes = put }
}

// Record changes each record last, once the other options have shaped it.
func Record(change func(id int, lr plog.LogRecord)) LogsOption {
	return func(s *shape) { s.record = change }
}
