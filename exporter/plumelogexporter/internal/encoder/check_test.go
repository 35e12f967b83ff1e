package encoder

import (
	"cmp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plumelog-otel/otelcol-plumelog/internal/plumelogtest"
)

// fixedNow is the clock of test encoders, for records without timestamps.
var fixedNow = time.Date(2024, 6, 20, 8, 50, 45, 987_654_321, time.UTC)

// shanghai is a fixed zone, so that dateTime does not depend on the machine's zone database.
var shanghai = time.FixedZone("CST", 8*3600)

// newTestEncoder returns an encoder with a fixed clock, a fixed zone unless cfg names one, and
// seqs starting at 1.
func newTestEncoder(cfg Config) *Encoder {
	if cfg.Location == nil {
		cfg.Location = shanghai
	}
	cfg.AppName = cmp.Or(cfg.AppName, "unknown")
	cfg.Env = cmp.Or(cfg.Env, "default")
	e := New(cfg)
	e.now = func() time.Time { return fixedNow }
	return e
}

// keepAll is a field policy that makes every attribute a field, for tests of what the policy
// does not decide.
func keepAll() *Fields {
	all := AttributeRules{Allow: []string{"*"}}
	return &Fields{Record: all, Resource: all, MaxFields: maxFieldsLimit, FoldKey: "attributes"}
}

// checkMessage asserts the wire contract (plumelogtest.CheckRunLog) and what this encoder adds
// to it: trace and span ids in lower-case hex. It returns the decoded message.
func checkMessage(t testing.TB, msg []byte) map[string]any {
	t.Helper()
	m, err := plumelogtest.CheckRunLog(msg)
	require.NoErrorf(t, err, "%q", msg)
	for k, n := range map[string]int{"traceId": 32, "spanId": 16} {
		if id, ok := m[k]; ok {
			assert.Len(t, id, n, k)
			assert.Regexp(t, "^[0-9a-f]*$", id, k)
		}
	}
	return m
}
