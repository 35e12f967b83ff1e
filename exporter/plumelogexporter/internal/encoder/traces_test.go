package encoder

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/plumelog-otel/otelcol-plumelog/internal/plumelogtest"
)

// call describes a span of a test trace briefly: name, service, offsets from traceBase, calls.
type call struct {
	name, app  string
	start, end time.Duration
	calls      []call
}

func (c call) span() plumelogtest.Span {
	s := plumelogtest.Span{Name: c.name, App: c.app, Start: c.start, End: c.end}
	for _, ch := range c.calls {
		s.Calls = append(s.Calls, ch.span())
	}
	return s
}

var traceBase = time.Date(2024, 6, 20, 8, 50, 45, 0, time.UTC)

// viewOf encodes requests with one encoder, checks every event against the contract, and
// rebuilds the tree as the view does.
func viewOf(t *testing.T, requests []ptrace.Traces) (*plumelogtest.Call, []plumelogtest.TraceEvent) {
	t.Helper()
	e := newTestEncoder(Config{})
	var events []plumelogtest.TraceEvent
	for _, td := range requests {
		raw, skipped := e.EncodeTraces(td)
		require.Zero(t, skipped)
		require.Len(t, raw, 2*td.SpanCount())
		for _, r := range raw {
			ev, err := plumelogtest.CheckTraceEvent(r)
			require.NoError(t, err, "%s", r)
			events = append(events, ev)
		}
	}
	return plumelogtest.TraceView(events), events
}

const ms, us = time.Millisecond, time.Microsecond

// viewTrees are span trees the trace view must rebuild exactly from the events.
var viewTrees = []struct {
	name string
	root call
}{
	{"nested five deep", call{"GET /orders/{id}", "gateway", 0, 50 * ms, []call{
		{"OrderController.get", "gateway", 1 * ms, 49 * ms, []call{
			{"OrderService.find", "gateway", 2 * ms, 48 * ms, []call{
				{"OrderRepository.load", "gateway", 3 * ms, 30 * ms, []call{
					{"SELECT orders", "gateway", 4 * ms, 20 * ms, nil},
				}},
				{"PriceClient.quote", "gateway", 31 * ms, 47 * ms, nil},
			}},
		}},
	}}},
	{"parent and child start in one millisecond", call{"handle", "svc", 10*ms + 100*us, 20 * ms, []call{
		{"first step", "svc", 10*ms + 400*us, 15 * ms, nil},
	}}},
	{"parent and child start in one microsecond", call{"handle", "svc", 10 * ms, 20 * ms, []call{
		{"first step", "svc", 10 * ms, 15 * ms, []call{
			{"first sub-step", "svc", 10 * ms, 12 * ms, nil},
		}},
	}}},
	{"child and parent end in one millisecond", call{"handle", "svc", 0, 20*ms + 900*us, []call{
		{"last step", "svc", 5 * ms, 20*ms + 300*us, nil},
	}}},
	{"child and parent end in one microsecond", call{"handle", "svc", 0, 20 * ms, []call{
		{"last step", "svc", 5 * ms, 20 * ms, []call{
			{"last sub-step", "svc", 15 * ms, 20 * ms, nil},
		}},
	}}},
	{"a call ends as the next starts", call{"handle", "svc", 0, 30 * ms, []call{
		{"step one", "svc", 1 * ms, 10*ms + 200*us, nil},
		{"step two", "svc", 10*ms + 500*us, 20 * ms, nil}, // starts in the millisecond step one ends in
		{"step three", "svc", 20 * ms, 25 * ms, nil},      // starts in step two's microsecond
	}}},
	{"millisecond clock", call{"handle", "svc", 0, 9 * ms, []call{
		{"a", "svc", 0, 3 * ms, []call{{"a1", "svc", 0, 1 * ms, nil}}},
		{"b", "svc", 3 * ms, 9 * ms, []call{{"b1", "svc", 3 * ms, 8 * ms, nil}}},
	}}},
	{"calls shorter than a microsecond", call{"handle", "svc", 0, 9 * ms, []call{
		{"quick", "svc", 2 * ms, 2*ms + 300, nil},
		{"instant", "svc", 4 * ms, 4 * ms, nil},
	}}},
	{"two services through propagation", call{"POST /checkout", "web", 0, 80 * ms, []call{
		{"cart.load", "web", 1 * ms, 5 * ms, nil},
		{"POST order-svc", "web", 5 * ms, 60 * ms, []call{
			{"POST /orders", "order-svc", 6 * ms, 59 * ms, []call{
				{"INSERT orders", "order-svc", 7 * ms, 20 * ms, nil},
				{"publish OrderCreated", "order-svc", 20 * ms, 21 * ms, nil},
			}},
		}},
		{"render", "web", 60 * ms, 79 * ms, nil},
	}}},
}

// TestTraceViewRebuildsSpanTrees sends each tree's spans in end order, split across
// requests, and checks that the view's own rule rebuilds the tree that was sent.
func TestTraceViewRebuildsSpanTrees(t *testing.T) {
	traceID := pcommon.TraceID{0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03, 0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c}
	for _, tt := range viewTrees {
		for _, perRequest := range []int{1, 3, 100} {
			t.Run(tt.name+"/"+strconv.Itoa(perRequest)+" per request", func(t *testing.T) {
				got, events := viewOf(t, tt.root.span().Traces(traceBase, traceID, perRequest))
				assert.Equal(t, tt.root.span().View(traceBase).String(), got.String())
				for _, ev := range events {
					assert.Equal(t, "5b8efff798038103d269b633813fc60c", ev.TraceID)
					assert.Equal(t, ev.AppName+"-host", ev.ServerName)
					assert.Equal(t, "prod", ev.Env)
				}
			})
		}
	}
}

// randomCall builds a properly nested tree of calls within [start, end] on a clock of the
// given resolution: children one after another, some touching each other or their parent's
// start or end, each at least 2µs and shorter than its parent.
func randomCall(rng *rand.Rand, name string, start, end, resolution time.Duration, depth int) call {
	c := call{name: name, app: "svc", start: start, end: end}
	if depth == 0 {
		return c
	}
	at := start
	for i := range rng.IntN(4) {
		if rng.IntN(3) > 0 { // a gap before the child, else it touches what precedes it
			at += time.Duration(rng.Int64N(int64(end-at)/4 + 1)).Truncate(resolution)
		}
		childEnd := at + time.Duration(rng.Int64N(int64(end-at)+1)).Truncate(resolution)
		if rng.IntN(4) == 0 {
			childEnd = end // ends with its parent
		}
		if childEnd-at < max(2*us, resolution) || (at == start && childEnd == end) {
			break
		}
		c.calls = append(c.calls, randomCall(rng, name+"."+strconv.Itoa(i), at, childEnd, resolution, depth-1))
		at = childEnd
	}
	return c
}

// TestTraceViewRebuildsRandomTrees checks the rule on many random trees, on clocks from
// milliseconds down to nanoseconds.
func TestTraceViewRebuildsRandomTrees(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	traceID := pcommon.TraceID{1, 2, 3}
	for i := range 500 {
		resolution := []time.Duration{ms, 100 * us, us, 1}[i%4]
		root := randomCall(rng, "root", 0, time.Duration(1+rng.IntN(200))*ms, resolution, 5)
		got, _ := viewOf(t, root.span().Traces(traceBase, traceID, 1+rng.IntN(5)))
		require.Equal(t, root.span().View(traceBase).String(), got.String(), "tree %d, clock %s", i, resolution)
	}
}

// TestTraceEventsGolden pins the events of a server span with a child from a Java-like
// resource, and the span attributes that override the resource's mapped fields.
func TestTraceEventsGolden(t *testing.T) {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	putSorted(rs.Resource().Attributes(), javaResource())
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	traceID := pcommon.TraceID{0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03, 0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c}
	for _, s := range []struct {
		name       string
		start, end time.Duration
		attrs      map[string]any
	}{
		{"OrderRepository.save", 2*ms + 250*us, 9 * ms, nil},
		{"POST /orders", 0, 12*ms + 345*us, map[string]any{"http.request.method": "POST", "deployment.environment.name": "canary"}},
	} {
		span := spans.AppendEmpty()
		span.SetName(s.name)
		span.SetTraceID(traceID)
		span.SetStartTimestamp(pcommon.NewTimestampFromTime(traceBase.Add(s.start)))
		span.SetEndTimestamp(pcommon.NewTimestampFromTime(traceBase.Add(s.end)))
		putSorted(span.Attributes(), s.attrs)
	}
	events, skipped := newTestEncoder(Config{}).EncodeTraces(td)
	require.Zero(t, skipped)
	var got bytes.Buffer
	for _, ev := range events {
		_, err := plumelogtest.CheckTraceEvent(ev)
		require.NoError(t, err, "%s", ev)
		got.Write(ev)
		got.WriteByte('\n')
	}
	path := filepath.Join("testdata", "trace_events.golden.json")
	if *update {
		require.NoError(t, os.WriteFile(path, got.Bytes(), 0o600))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create the golden file")
	assert.Equal(t, string(want), got.String())
}

// TestTraceEventsFromBadSpans encodes spans no SDK should send: each still yields two
// contract-valid events, or none and a count when it cannot be placed in a trace at all.
func TestTraceEventsFromBadSpans(t *testing.T) {
	at := func(d time.Duration) pcommon.Timestamp { return pcommon.NewTimestampFromTime(traceBase.Add(d)) }
	for _, tt := range []struct {
		name       string
		set        func(ptrace.Span)
		wantEvents bool
		wantStart  int64 // ms after traceBase of both events' times, when they are kept
		wantEnd    int64
		wantMethod string
	}{
		{"end before start", func(s ptrace.Span) { s.SetStartTimestamp(at(5 * ms)); s.SetEndTimestamp(at(2 * ms)) }, true, 5, 5, "op"},
		{"no end", func(s ptrace.Span) { s.SetEndTimestamp(0) }, true, 1, 1, "op"},
		{"no start", func(s ptrace.Span) { s.SetStartTimestamp(0) }, true, 3, 3, "op"},
		{"no name", func(s ptrace.Span) { s.SetName("") }, true, 1, 3, unnamedSpan},
		{"name that is not text", func(s ptrace.Span) { s.SetName("a\xff\nb\u2028") }, true, 1, 3, "a\ufffd\nb\u2028"},
		{"no timestamps", func(s ptrace.Span) { s.SetStartTimestamp(0); s.SetEndTimestamp(0) }, false, 0, 0, ""},
		{"timestamps beyond 2262", func(s ptrace.Span) { s.SetStartTimestamp(1 << 63); s.SetEndTimestamp(1<<64 - 1) }, false, 0, 0, ""},
		{"no trace id", func(s ptrace.Span) { s.SetTraceID(pcommon.TraceID{}) }, false, 0, 0, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			td := ptrace.NewTraces()
			span := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
			span.SetName("op")
			span.SetTraceID(pcommon.TraceID{9})
			span.SetStartTimestamp(at(1 * ms))
			span.SetEndTimestamp(at(3 * ms))
			tt.set(span)
			assert.Equal(t, tt.wantEvents, ValidSpan(span))
			events, skipped := newTestEncoder(Config{}).EncodeTraces(td)
			if !tt.wantEvents {
				assert.Empty(t, events)
				assert.Equal(t, 1, skipped)
				return
			}
			require.Len(t, events, 2)
			assert.Zero(t, skipped)
			var evs []plumelogtest.TraceEvent
			for _, raw := range events {
				ev, err := plumelogtest.CheckTraceEvent(raw)
				require.NoError(t, err, "%s", raw)
				assert.Equal(t, tt.wantMethod, ev.Method)
				evs = append(evs, ev)
			}
			assert.Equal(t, traceBase.UnixMilli()+tt.wantStart, evs[0].Time)
			assert.Equal(t, traceBase.UnixMilli()+tt.wantEnd, evs[1].Time)
			view := plumelogtest.TraceView(evs)
			require.Len(t, view.Children, 1, "one call, closed")
			assert.Equal(t, evs[1].Time, view.Children[0].End)
		})
	}
}

// FuzzEncodeTraces encodes arbitrary OTLP trace payloads: every span yields two
// contract-valid events, a start then an end, unless it is counted as skipped.
func FuzzEncodeTraces(f *testing.F) {
	var m ptrace.ProtoMarshaler
	for _, td := range viewTrees[len(viewTrees)-1].root.span().Traces(traceBase, pcommon.TraceID{7}, 100) {
		raw, err := m.MarshalTraces(td)
		require.NoError(f, err)
		f.Add(raw)
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		var u ptrace.ProtoUnmarshaler
		td, err := u.UnmarshalTraces(data)
		if err != nil {
			return
		}
		events, skipped := newTestEncoder(Config{}).EncodeTraces(td)
		require.Len(t, events, 2*(td.SpanCount()-skipped))
		for i, raw := range events {
			ev, err := plumelogtest.CheckTraceEvent(raw)
			require.NoError(t, err, "%q", raw)
			require.Equal(t, []string{"<", ">"}[i%2], ev.Position)
		}
	})
}

// jsClock records c as the OTel JavaScript SDK does: the start in whole milliseconds
// (Date.now()), the end as that start plus the precise duration.
func jsClock(c call) call {
	d := c.end - c.start
	c.start = c.start.Truncate(ms)
	c.end = c.start + d
	calls := make([]call, len(c.calls))
	for i, ch := range c.calls {
		calls[i] = jsClock(ch)
	}
	c.calls = calls
	return c
}

// TestTraceViewRebuildsJavaScriptClockTrees checks trees whose calls take less than a
// millisecond, recorded with the JavaScript SDK's clock, whose intervals do not nest: the
// spans of a request nest by their parent ids instead.
func TestTraceViewRebuildsJavaScriptClockTrees(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	traceID := pcommon.TraceID{4, 5, 6}
	for i := range 300 {
		root := randomCall(rng, "root", 0, time.Duration(1+rng.IntN(3))*ms, us, 5)
		recorded := jsClock(root)
		got, _ := viewOf(t, recorded.span().Traces(traceBase, traceID, 1000))
		// The tree is the true one; a time the clock recorded up to a millisecond early, to
		// nest with the others, may show a millisecond later.
		want := recorded.span().View(traceBase)
		require.True(t, want.Shows(got, 1), "tree %d\nwant:\n%s\ngot:\n%s", i, want, got)
	}
}
