package e2e

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/plumelog-otel/otelcol-plumelog/internal/otelcoltest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/plumelogtest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/redistest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/testenv"
)

// jsSpan is a span as e2e/jsclient prints it, times in ns since the epoch.
type jsSpan struct {
	Name, TraceID, SpanID, ParentSpanID string
	Start, End                          string
}

func (s jsSpan) ms(t string) int64 {
	n, _ := strconv.ParseInt(t, 10, 64)
	return n / 1e6
}

// jsViews builds the call tree of each trace from the spans' parent ids, children by start.
func jsViews(spans []jsSpan) map[string]*plumelogtest.Call {
	slices.SortStableFunc(spans, func(a, b jsSpan) int {
		return strings.Compare(fmt.Sprintf("%020s", a.Start), fmt.Sprintf("%020s", b.Start))
	})
	calls := map[string]*plumelogtest.Call{}
	for _, s := range spans {
		calls[s.SpanID] = &plumelogtest.Call{Method: s.Name, AppName: "node-shop", Start: s.ms(s.Start), End: s.ms(s.End)}
	}
	views := map[string]*plumelogtest.Call{}
	for _, s := range spans {
		parent, ok := calls[s.ParentSpanID]
		if !ok {
			if views[s.TraceID] == nil {
				views[s.TraceID] = &plumelogtest.Call{End: -1}
			}
			parent = views[s.TraceID]
		}
		parent.Children = append(parent.Children, calls[s.SpanID])
	}
	return views
}

// TestOpenTelemetryJavaScriptSDKTraces sends traces with the OTel JavaScript SDK, whose span
// starts are whole milliseconds: the trace view rebuilds every call tree the SDK recorded,
// five calls deep with most calls under a millisecond, and shows each time as recorded or,
// where the SDK's two clocks recorded times that contradict the nesting, later by less than
// the 50 ms the encoder moves an event at most.
func TestOpenTelemetryJavaScriptSDKTraces(t *testing.T) {
	client := binary(t, "PLUMELOG_JSCLIENT")
	node := testenv.Program(t, "node")
	for _, compression := range []string{"none", "lz4"} {
		t.Run(compression, func(t *testing.T) {
			srv := redistest.Start(t)
			col := startCollectorWith(t, otelcoltest.Config{
				Exporter: otelcoltest.Settings{"endpoint": srv.Addr, "compression": compression}, Traces: true,
			})
			const requests = 30
			out, err := exec.Command(node, client, col.GRPC, strconv.Itoa(requests)).Output()
			require.NoError(t, err, "%s", out)
			var spans []jsSpan
			require.NoError(t, json.Unmarshal(out, &spans))
			require.Len(t, spans, 9*requests)
			checkJSViews(t, jsViews(spans), traceEventsIn(t, srv, compression, 2*len(spans)))
		})
	}
}

// checkJSViews checks that the trace view rebuilds, from the events, every recorded tree of want.
func checkJSViews(t *testing.T, want map[string]*plumelogtest.Call, events []plumelogtest.TraceEvent) {
	t.Helper()
	byTrace := map[string][]plumelogtest.TraceEvent{}
	for _, ev := range events {
		byTrace[ev.TraceID] = append(byTrace[ev.TraceID], ev)
	}
	require.Len(t, byTrace, len(want))
	moved := 0
	for id, evs := range byTrace {
		got := plumelogtest.TraceView(evs)
		require.True(t, want[id].Shows(got, 50), "trace %s\nrecorded:\n%s\nshown:\n%s", id, want[id], got)
		if want[id].String() != got.String() {
			moved++
		}
	}
	t.Logf("%d of %d traces show a time moved to nest with the others", moved, len(want))
}
