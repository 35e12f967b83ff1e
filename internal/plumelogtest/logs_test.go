package plumelogtest

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

func TestLogsDefaultShape(t *testing.T) {
	ld := Logs(7, 3)
	require.Equal(t, 1, ld.ResourceLogs().Len())
	rl := ld.ResourceLogs().At(0)
	assert.Equal(t, map[string]any{"service.name": "order-svc", "deployment.environment.name": "prod"}, rl.Resource().Attributes().AsRaw())
	sl := rl.ScopeLogs().At(0)
	assert.Equal(t, "com.example.OrderService", sl.Scope().Name())
	require.Equal(t, 3, sl.LogRecords().Len())
	for i := range 3 {
		lr := sl.LogRecords().At(i)
		assert.Equal(t, "order "+strconv.Itoa(7+i), lr.Body().Str())
		assert.Equal(t, map[string]any{"id": int64(7 + i)}, lr.Attributes().AsRaw())
		assert.Equal(t, plog.SeverityNumberInfo, lr.SeverityNumber())
		assert.NotZero(t, lr.Timestamp())
	}
}

func TestLogsOptions(t *testing.T) {
	ld := Logs(0, 2,
		Service("caller-3"),
		Resource(func(ra pcommon.Map) { ra.PutStr("host.name", "node-1") }),
		Scope("com.example.Other"),
		Severity(plog.SeverityNumberWarn),
		Body(func(id int) string { return "record " + strconv.Itoa(id) }),
		Attributes(func(id int, attrs pcommon.Map) { attrs.PutBool("even", id%2 == 0) }),
		Record(func(_ int, lr plog.LogRecord) { lr.SetSeverityText("WARN") }),
	)
	rl := ld.ResourceLogs().At(0)
	assert.Equal(t, map[string]any{"service.name": "caller-3", "deployment.environment.name": "prod", "host.name": "node-1"},
		rl.Resource().Attributes().AsRaw())
	sl := rl.ScopeLogs().At(0)
	assert.Equal(t, "com.example.Other", sl.Scope().Name())
	lr := sl.LogRecords().At(1)
	assert.Equal(t, "record 1", lr.Body().Str())
	assert.Equal(t, map[string]any{"even": false}, lr.Attributes().AsRaw(), "Attributes replaces the id")
	assert.Equal(t, plog.SeverityNumberWarn, lr.SeverityNumber())
	assert.Equal(t, "WARN", lr.SeverityText())
}

func TestCountIDs(t *testing.T) {
	msg := func(id string) string {
		return `{"appName":"a","env":"e","appNameWithEnv":"a-_-e","serverName":"s","dtTime":1,"seq":1,"dateTime":"2024-06-20 16:50:45.123","logLevel":"INFO","content":"c","className":"c","method":"m","threadName":"t","id":"` + id + `"}`
	}
	counts := CountIDs(t, []string{msg("1"), msg("2"), msg("1"), msg("1")})
	assert.Equal(t, map[int]int{1: 3, 2: 1}, counts)
	assert.Equal(t, 2, Duplicates(counts))
}
