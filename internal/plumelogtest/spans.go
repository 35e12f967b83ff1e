package plumelogtest

import (
	"encoding/binary"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Span describes a span of a test trace: its name, its service, its offsets from the start
// of the trace, and the calls it makes.
type Span struct {
	Name, App  string
	Start, End time.Duration
	Calls      []Span
}

// Traces returns the spans of the tree rooted at s as an SDK exports them: in end order,
// children first, in requests of perRequest spans, one resource per service (service.name
// App, deployment.environment.name prod, host.name App-host), with span ids derived from
// their place in the tree.
func (s Span) Traces(base time.Time, traceID pcommon.TraceID, perRequest int) []ptrace.Traces {
	type flat struct {
		s          Span
		id, parent uint64
	}
	var spans []flat
	next := uint64(1)
	var walk func(s Span, id, parent uint64)
	walk = func(s Span, id, parent uint64) {
		for _, c := range s.Calls {
			next++
			walk(c, next, id)
		}
		spans = append(spans, flat{s, id, parent})
	}
	walk(s, next, 0)

	var out []ptrace.Traces
	for len(spans) > 0 {
		n := min(perRequest, len(spans))
		td := ptrace.NewTraces()
		scopes := map[string]ptrace.SpanSlice{}
		for _, f := range spans[:n] {
			ss, ok := scopes[f.s.App]
			if !ok {
				rs := td.ResourceSpans().AppendEmpty()
				rs.Resource().Attributes().PutStr("service.name", f.s.App)
				rs.Resource().Attributes().PutStr("deployment.environment.name", "prod")
				rs.Resource().Attributes().PutStr("host.name", f.s.App+"-host")
				ss = rs.ScopeSpans().AppendEmpty().Spans()
				scopes[f.s.App] = ss
			}
			span := ss.AppendEmpty()
			span.SetName(f.s.Name)
			span.SetTraceID(traceID)
			span.SetSpanID(spanID(f.id))
			if f.parent != 0 {
				span.SetParentSpanID(spanID(f.parent))
			}
			span.SetStartTimestamp(pcommon.NewTimestampFromTime(base.Add(f.s.Start)))
			span.SetEndTimestamp(pcommon.NewTimestampFromTime(base.Add(f.s.End)))
		}
		out = append(out, td)
		spans = spans[n:]
	}
	return out
}

func spanID(n uint64) pcommon.SpanID {
	var id pcommon.SpanID
	binary.BigEndian.PutUint64(id[:], n)
	return id
}

// View returns the tree the trace view must show for the trace rooted at s: each call with
// its start and end in epoch milliseconds, its calls in the order they start.
func (s Span) View(base time.Time) *Call {
	var build func(s Span) *Call
	build = func(s Span) *Call {
		c := &Call{
			Method: s.Name, AppName: s.App, ServerName: s.App + "-host",
			Start: base.Add(s.Start).UnixMilli(), End: base.Add(s.End).UnixMilli(),
		}
		for _, ch := range s.Calls {
			c.Children = append(c.Children, build(ch))
		}
		return c
	}
	return &Call{End: -1, Children: []*Call{build(s)}}
}
