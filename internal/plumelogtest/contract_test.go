package plumelogtest

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// example is the run-log element given in the wire contract.
const example = `{"appName":"order-svc","env":"prod","appNameWithEnv":"order-svc-_-prod","serverName":"10.0.0.12","dtTime":1718873445123,"seq":17,"dateTime":"2024-06-20 16:50:45.123","logLevel":"INFO","content":"order created id=42","className":"com.example.OrderService","method":"http-nio-8080-exec-1","threadName":"http-nio-8080-exec-1","traceId":"6a1f0b8c3d2e4f50","spanId":"9c1d2e3f4a5b6c7d"}`

func TestCheckRunLogAcceptsTheContractExample(t *testing.T) {
	msg, err := CheckRunLog([]byte(example))
	require.NoError(t, err)
	assert.Equal(t, "order-svc", msg["appName"])
}

func TestCheckRunLogRejects(t *testing.T) {
	for _, tt := range []struct {
		name, from, to, want string
	}{
		{"numeric extension", `"spanId":"9c1d2e3f4a5b6c7d"`, `"spanId":"9c1d2e3f4a5b6c7d","userId":42`, `"userId" must be a string`},
		{"string dtTime", `"dtTime":1718873445123`, `"dtTime":"1718873445123"`, "dtTime must be a number"},
		{"fractional seq", `"seq":17`, `"seq":17.5`, "seq must be a non-negative integer"},
		{"WARNING", `"logLevel":"INFO"`, `"logLevel":"WARNING"`, "logLevel"},
		{"missing appName", `"appName":"order-svc",`, ``, "appName must be a string"},
		{"empty appName", `"appName":"order-svc"`, `"appName":""`, "appName must not be empty"},
		{"wrong appNameWithEnv", `"order-svc-_-prod"`, `"order-svc-prod"`, "appNameWithEnv"},
		{"raw newline", `order created`, "order\ncreated", "single line"},
		{"invalid UTF-8", `order created`, "order \xff created", "UTF-8"},
		{"not JSON", `{"appName"`, `{appName`, "not a JSON object"},
		{"repeated key", `"spanId":"9c1d2e3f4a5b6c7d"`, `"spanId":"9c1d2e3f4a5b6c7d","env":"dev"`, `key "env" appears twice`},
		{"ISO dateTime", `2024-06-20 16:50:45.123`, `2024-06-20T16:50:45.123Z`, "dateTime"},
		{"object content", `"content":"order created id=42"`, `"content":{"id":42}`, "content must be a string"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			raw := strings.Replace(example, tt.from, tt.to, 1)
			require.NotEqual(t, example, raw)
			_, err := CheckRunLog([]byte(raw))
			assert.ErrorContains(t, err, tt.want)
		})
	}
}

func TestCheckRunLogRejectsKeysElasticsearchRefuses(t *testing.T) {
	for _, key := range []string{"", " ", "_id", "_source", ".lead", "trail.", "a..b", "a. .b"} {
		raw := strings.Replace(example, `"spanId"`, strconv.Quote(key)+`:"x","spanId"`, 1)
		_, err := CheckRunLog([]byte(raw))
		require.ErrorContains(t, err, strconv.Quote(key), "key %q", key)
	}
	raw := strings.Replace(example, `"spanId"`, `"error":"x","error.type":"y","spanId"`, 1)
	_, err := CheckRunLog([]byte(raw))
	assert.ErrorContains(t, err, `"error.type" makes "error" an object`)
}

func TestIndexKeys(t *testing.T) {
	doc := func(keys ...string) map[string]any {
		m := map[string]any{}
		for _, k := range keys {
			m[k] = "v"
		}
		return m
	}
	for _, tt := range []struct {
		name string
		docs [][]string
		want string // "" when every document is accepted
	}{
		{"flat keys", [][]string{{"error", "user"}, {"error_type", "user_id"}}, ""},
		{"objects that agree", [][]string{{"k8s.pod.name"}, {"k8s.pod.uid", "k8s.node.name"}}, ""},
		{"value then object", [][]string{{"error"}, {"error.type"}}, `"error.type" makes "error" an object`},
		{"object then value", [][]string{{"error.type"}, {"error"}}, `"error" holds a value`},
		{"deep prefix", [][]string{{"a.b"}, {"a.b.c.d"}}, `"a.b.c.d" makes "a.b" an object`},
		{"deep object then value", [][]string{{"a.b.c"}, {"a.b"}}, `"a.b" holds a value`},
		{"prefix without a dot is no path", [][]string{{"user"}, {"username", "user_id"}}, ""},
		{"metadata field", [][]string{{"_id"}}, "reserved"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var ix IndexKeys
			var errs []error
			for _, keys := range tt.docs {
				errs = append(errs, ix.Add(doc(keys...)))
			}
			err := errors.Join(errs...)
			if tt.want == "" {
				assert.NoError(t, err)
			} else {
				assert.ErrorContains(t, err, tt.want)
			}
		})
	}
}
