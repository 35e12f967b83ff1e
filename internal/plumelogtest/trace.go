package plumelogtest

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// TraceEvent is one element of plume_trace_list as the trace view reads it.
type TraceEvent struct {
	AppName        string `json:"appName"`
	Env            string `json:"env"`
	AppNameWithEnv string `json:"appNameWithEnv"`
	ServerName     string `json:"serverName"`
	TraceID        string `json:"traceId"`
	Method         string `json:"method"`
	Time           int64  `json:"time"`
	Position       string `json:"position"`
	PositionNum    int32  `json:"positionNum"`
}

var traceStringKeys = []string{"appName", "env", "appNameWithEnv", "serverName", "traceId", "method", "position"}

// CheckTraceEvent reports how raw breaks the trace-event contract, or returns the event:
// one line of valid UTF-8 JSON, an object with exactly the keys of Plumelog's TraceLogMessage,
// strings where it has strings, time a non-negative integer, position "<" or ">", positionNum
// a 32-bit integer (Java Integer), a non-empty appName and traceId, and appNameWithEnv =
// appName + "-_-" + env.
func CheckTraceEvent(raw []byte) (TraceEvent, error) {
	var ev TraceEvent
	msg, err := decodeLine(raw)
	if err != nil {
		return ev, err
	}
	var errs []error
	if dup := duplicateKey(raw); dup != "" {
		errs = append(errs, fmt.Errorf("key %q appears twice", dup))
	}
	for k := range msg {
		if !slices.Contains(traceStringKeys, k) && k != "time" && k != "positionNum" {
			errs = append(errs, fmt.Errorf("key %q is not a TraceLogMessage field", k))
		}
	}
	for _, k := range traceStringKeys {
		if _, ok := msg[k].(string); !ok {
			errs = append(errs, fmt.Errorf("%s must be a string, got %T", k, msg[k]))
		}
	}
	if n, ok := msg["time"].(json.Number); !ok {
		errs = append(errs, fmt.Errorf("time must be a number, got %T", msg["time"]))
	} else if v, err := n.Int64(); err != nil || v < 0 {
		errs = append(errs, fmt.Errorf("time must be a non-negative integer, got %s", n))
	}
	if n, ok := msg["positionNum"].(json.Number); !ok {
		errs = append(errs, fmt.Errorf("positionNum must be a number, got %T", msg["positionNum"]))
	} else if v, err := n.Int64(); err != nil || v < math.MinInt32 || v > math.MaxInt32 {
		errs = append(errs, fmt.Errorf("positionNum must be a 32-bit integer, got %s", n))
	}
	if err := errors.Join(errs...); err != nil {
		return ev, err
	}
	if err := json.Unmarshal(raw, &ev); err != nil {
		return ev, err
	}
	switch {
	case ev.Position != "<" && ev.Position != ">":
		errs = append(errs, fmt.Errorf("position %q is neither < nor >", ev.Position))
	case ev.AppName == "":
		errs = append(errs, errors.New("appName must not be empty"))
	case ev.TraceID == "":
		errs = append(errs, errors.New("traceId must not be empty"))
	case ev.AppNameWithEnv != ev.AppName+"-_-"+ev.Env:
		errs = append(errs, fmt.Errorf("appNameWithEnv %q is not appName-_-env", ev.AppNameWithEnv))
	}
	return ev, errors.Join(errs...)
}

// Call is a node of the call tree the trace view shows.
type Call struct {
	Method, AppName, ServerName string
	Start, End                  int64 // epoch ms; End is -1 while no ">" event closed the call
	Children                    []*Call
}

// Shows reports whether got, a tree the trace view rebuilt, shows the calls of c nested the
// same, each call and each time at most slack ms later than in c.
func (c *Call) Shows(got *Call, slack int64) bool {
	if c.Method != got.Method || c.AppName != got.AppName || len(c.Children) != len(got.Children) ||
		got.Start < c.Start || got.Start > c.Start+slack || got.End < c.End || got.End > c.End+slack {
		return false
	}
	for i := range c.Children {
		if !c.Children[i].Shows(got.Children[i], slack) {
			return false
		}
	}
	return true
}

// String renders the tree one call per line, indented by depth, for test failures.
func (c *Call) String() string {
	var b strings.Builder
	var walk func(c *Call, depth int)
	walk = func(c *Call, depth int) {
		fmt.Fprintf(&b, "%s%s [%s] %d..%d\n", strings.Repeat("  ", depth), c.Method, c.AppName, c.Start, c.End)
		for _, ch := range c.Children {
			walk(ch, depth+1)
		}
	}
	for _, ch := range c.Children {
		walk(ch, 0)
	}
	return b.String()
}

// TraceView rebuilds the call tree of one trace the way Plumelog's trace view does, and
// returns its root, whose children are the top-level calls. It sorts the events by time, then
// positionNum (a stable sort: the view's order of events equal in both is unspecified), and
// walks them with a depth counter: "<" appends a call under the last call of each level down
// to depth and goes one level deeper; ">" goes one level up and ends the first call without an
// end at that level, under the last call of each level above it.
func TraceView(events []TraceEvent) *Call {
	sorted := slices.Clone(events)
	slices.SortStableFunc(sorted, func(a, b TraceEvent) int {
		if a.Time != b.Time {
			return cmp.Compare(a.Time, b.Time)
		}
		return cmp.Compare(a.PositionNum, b.PositionNum)
	})
	root := &Call{End: -1}
	// level returns the children of the last call at each level down to depth.
	level := func(depth int) *[]*Call {
		node := root
		for range depth {
			if len(node.Children) == 0 {
				break
			}
			node = node.Children[len(node.Children)-1]
		}
		return &node.Children
	}
	depth := 0
	for _, ev := range sorted {
		if ev.Position == "<" {
			calls := level(depth)
			*calls = append(*calls, &Call{Method: ev.Method, AppName: ev.AppName, ServerName: ev.ServerName, Start: ev.Time, End: -1})
			depth++
			continue
		}
		depth = max(depth-1, 0)
		for _, c := range *level(depth) {
			if c.End < 0 {
				c.End = ev.Time
				break
			}
		}
	}
	return root
}
