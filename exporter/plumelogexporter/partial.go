package plumelogexporter // import "github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter"

import (
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/encoder"
)

// The sending queue retries what a request did not deliver as a smaller request: these
// build it from the positions of the messages handed back.

// logsAt returns a copy of ld that keeps only the records at positions, which count records
// in ld's order and ascend: a record is one message.
func logsAt(ld plog.Logs, positions []int) plog.Logs {
	out := plog.NewLogs()
	ld.CopyTo(out)
	keep := positionFilter(positions, 1)
	out.ResourceLogs().RemoveIf(func(rl plog.ResourceLogs) bool {
		rl.ScopeLogs().RemoveIf(func(sl plog.ScopeLogs) bool {
			sl.LogRecords().RemoveIf(func(plog.LogRecord) bool { return !keep() })
			return sl.LogRecords().Len() == 0
		})
		return rl.ScopeLogs().Len() == 0
	})
	return out
}

// spansAt returns a copy of td that keeps only the spans one of whose events is at
// positions: a span that can be placed in a trace is two events, one that cannot is none. A
// span is sent again whole, so the event of it that was delivered arrives twice.
func spansAt(td ptrace.Traces, positions []int) ptrace.Traces {
	out := ptrace.NewTraces()
	td.CopyTo(out)
	keep := positionFilter(positions, 2)
	out.ResourceSpans().RemoveIf(func(rs ptrace.ResourceSpans) bool {
		rs.ScopeSpans().RemoveIf(func(ss ptrace.ScopeSpans) bool {
			ss.Spans().RemoveIf(func(s ptrace.Span) bool { return !encoder.ValidSpan(s) || !keep() })
			return ss.Spans().Len() == 0
		})
		return rs.ScopeSpans().Len() == 0
	})
	return out
}

// positionFilter returns a function to call for each item of messages per messages, in
// order: it reports whether one of the item's messages is at positions.
func positionFilter(positions []int, per int) func() bool {
	next := 0
	return func() bool {
		first := next
		next += per
		for len(positions) > 0 && positions[0] < first {
			positions = positions[1:]
		}
		return len(positions) > 0 && positions[0] < next
	}
}
