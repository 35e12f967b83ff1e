package encoder

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/plumelog-otel/otelcol-plumelog/internal/plumelogtest"
)

// loadResource reads resource attributes from a sample in testdata, whole numbers as integers
// as the SDKs send them.
func loadResource(t *testing.T, name string) map[string]any {
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	var m map[string]any
	require.NoError(t, dec.Decode(&m))
	for k, v := range m {
		if n, ok := v.(json.Number); ok {
			i, err := n.Int64()
			require.NoError(t, err)
			m[k] = i
		}
	}
	return m
}

// javaAgentRecords are records as the OTel Java agent's log bridge emits them: a log with
// MDC-like attributes, and an error with its exception.
func javaAgentRecords(b *logsBuilder) *logsBuilder {
	return b.
		record("order 42 created", traced, attrs(map[string]any{
			"thread.name": "http-nio-8080-exec-1", "thread.id": 42, "code.namespace": "com.example.OrderService",
			"code.function": "create", "orderId": "42", "user.id": "c-5521",
		})).
		record("payment failed for order 42", traced, severity(plog.SeverityNumberError, "ERROR"), attrs(map[string]any{
			"thread.name": "http-nio-8080-exec-1", "exception.type": "java.lang.IllegalStateException",
			"exception.message": "card declined", "exception.stacktrace": stacktrace, "error.type": "CardDeclined",
		}))
}

// fieldsGoldenCase is one golden file of the field policy: the records built and the policy applied.
type fieldsGoldenCase struct {
	name  string
	cfg   Config
	build func() plog.Logs
}

// fieldsResourceCases are the golden files of the default policy on realistic resources.
func fieldsResourceCases(t *testing.T) []fieldsGoldenCase {
	return []fieldsGoldenCase{
		{
			name: "java_agent_resource",
			build: func() plog.Logs {
				return javaAgentRecords(newLogs(loadResource(t, "java-agent-resource.json"), "com.example.OrderService")).ld
			},
		},
		{
			name: "node_sdk_resource",
			build: func() plog.Logs {
				return newLogs(loadResource(t, "node-sdk-resource.json"), "checkout").
					record("cart loaded", attrs(map[string]any{"http.route": "/cart/:id", "user": "alice"})).
					record("upstream timed out", severity(plog.SeverityNumberWarn, "WARN"),
						attrs(map[string]any{"error": "timeout", "user.id": "u-17"})).ld
			},
		},
	}
}

// fieldsPolicyCases are the golden files of key rewrites, max_fields and the allow, deny and fold rules.
func fieldsPolicyCases() []fieldsGoldenCase {
	return []fieldsGoldenCase{
		{
			// Keys that collide once dots become underscores, and keys Elasticsearch refuses.
			name: "key_rewrites",
			build: func() plog.Logs {
				b := newLogs(map[string]any{"service.name": "svc"}, "app").record("rewrites")
				a := b.sl.LogRecords().At(0).Attributes()
				for _, k := range []string{
					"error", "error.type", "error_type", "user", "user.id", "", " ", "_id", ".lead", "trail.",
					"a..b", "@timestamp", "订单号", "k\xffey", "x-request-id", "attributes", "content",
				} {
					a.PutStr(k, "v("+k+")")
				}
				return b.ld
			},
		},
		{
			name: "max_fields",
			cfg: Config{Fields: &Fields{
				Record:    AttributeRules{Allow: []string{"*"}},
				Resource:  AttributeRules{Allow: []string{"k8s.*.name", "cloud.region"}},
				MaxFields: 3,
				FoldKey:   "attributes",
			}},
			build: func() plog.Logs {
				return newLogs(map[string]any{
					"k8s.namespace.name": "shop", "k8s.pod.name": "order-7d9f", "cloud.region": "eastasia",
				}, "app").
					record("resource fields fit"). // three resource fields
					record("two record fields", attrs(map[string]any{"a": "1", "b": "2"})).
					record("four record fields", attrs(map[string]any{"a": "1", "b": "two words", "c": "", "d": `say "hi"`})).
					record("a record field replaces a resource field", attrs(map[string]any{"k8s_pod_name": "override", "z": "x=y"})).ld
			},
		},
		{
			name: "rules",
			cfg: Config{Fields: &Fields{
				Record: AttributeRules{
					Allow: []string{"*", "session.kind"},
					Deny:  []string{"password", "secret.*"},
					Fold:  []string{"session.*", "http.request.header.*"},
				},
				Resource:  AttributeRules{Allow: []string{"*"}, Deny: []string{"telemetry.*"}, Fold: []string{"process.*"}},
				MaxFields: 32,
				FoldKey:   "extra",
			}},
			build: func() plog.Logs {
				return newLogs(map[string]any{
					"service.name": "svc", "telemetry.sdk.name": "opentelemetry", "process.pid": 7, "team": "payments",
				}, "app").record("rules", attrs(map[string]any{
					"password": "hunter2", "secret.token": "t", "session.id": "s-1", "session.kind": "web",
					"http.request.header.x-forwarded-for": "10.0.0.1", "orderId": "42", "extra": "mine",
				})).ld
			},
		},
	}
}

func TestFieldsGolden(t *testing.T) {
	for _, tt := range append(fieldsResourceCases(t), fieldsPolicyCases()...) {
		t.Run(tt.name, func(t *testing.T) {
			var ix plumelogtest.IndexKeys
			for _, m := range checkGolden(t, tt.name, tt.cfg, tt.build()) {
				require.NoError(t, ix.Add(m))
				for _, k := range plumelogtest.ExtensionKeys(m) {
					assert.NotContains(t, k, ".", "extension keys never make object paths")
				}
			}
		})
	}
}

// TestDefaultFieldsOnSDKResources checks what the defaults promise for both samples: no SDK
// identity, no process or OS description, and what is kept by name.
func TestDefaultFieldsOnSDKResources(t *testing.T) {
	for _, tt := range []struct {
		sample string
		kept   []string
	}{
		{"java-agent-resource.json", []string{
			"service_version", "service_namespace", "k8s_namespace_name", "k8s_pod_name", "k8s_container_name",
			"k8s_deployment_name", "k8s_node_name", "cloud_region",
		}},
		{"node-sdk-resource.json", []string{"service_version"}},
	} {
		t.Run(tt.sample, func(t *testing.T) {
			ld := newLogs(loadResource(t, tt.sample), "app").record("no record attributes").ld
			m := checkMessage(t, newTestEncoder(Config{}).EncodeLogs(ld)[0])
			assert.ElementsMatch(t, tt.kept, plumelogtest.ExtensionKeys(m))
		})
	}
}

func TestFieldKey(t *testing.T) {
	for _, tt := range []struct {
		in, want string
		ok       bool
	}{
		{"error", "error", true},
		{"error.type", "error_type", true},
		{"k8s.pod.name", "k8s_pod_name", true},
		{"x-request-id", "x-request-id", true},
		{"orderId", "orderId", true},
		{"a..b", "a__b", true},
		{"trail.", "trail_", true},
		{"a b", "a_b", true},
		{"订单号", "订单号", true},
		{"café.crème", "café_crème", true},
		{"e\u0301t\u00e9", "e\u0301t\u00e9", true}, // a combining accent stays
		{"k\xffey", "k_ey", true},
		{"emoji😀", "emoji_", true},
		{"", "", false},
		{" ", "_", false},
		{"_id", "_id", false},
		{".lead", "_lead", false},
		{"@timestamp", "_timestamp", false},
	} {
		got, ok := fieldKey(tt.in)
		assert.Equal(t, tt.ok, ok, "%q", tt.in)
		if tt.ok {
			assert.Equal(t, tt.want, got, "%q", tt.in)
		}
		if plainKey(tt.in) {
			assert.True(t, ok && got == tt.in, "plainKey(%q) means fieldKey keeps it", tt.in)
		}
	}
}

func TestRulesAction(t *testing.T) {
	r := compileRules(AttributeRules{
		Allow: []string{"*", "k8s.*", "session.kind", "a*b*c"},
		Deny:  []string{"k8s.*.uid", "secret", "tie"},
		Fold:  []string{"session.*", "tie", "*.header.*"},
	})
	for key, want := range map[string]action{
		"anything":                  actField, // only "*" matches
		"k8s.pod.name":              actField, // k8s.* beats *
		"k8s.pod.uid":               actDrop,  // k8s.*.uid has more literals than k8s.*
		"secret":                    actDrop,
		"session.id":                actFold,
		"session.kind":              actField, // the exact name beats session.*
		"tie":                       actDrop,  // deny and fold tie: deny wins
		"http.request.header.x-key": actFold,
		"a-b-c":                     actField,
		"aXbYc":                     actField,
		"acb":                       actField, // only "*" matches
	} {
		assert.Equal(t, want, r.action(key), key)
	}
	only := compileRules(AttributeRules{Allow: []string{"k8s.*"}})
	assert.Equal(t, actDrop, only.action("host.name"), "no match drops")
	assert.True(t, compileRules(AttributeRules{Allow: []string{"*"}}).all)
	assert.False(t, r.all)
}

func TestPatternMatch(t *testing.T) {
	for _, tt := range []struct {
		pattern, key string
		want         bool
	}{
		{"*", "", true},
		{"a*", "a", true},
		{"*a", "ba", true},
		{"a*a", "a", false}, // the prefix and the suffix must not overlap
		{"a*a", "aa", true},
		{"k8s.*.name", "k8s.pod.name", true},
		{"k8s.*.name", "k8s.name", false},
		{"a*b*c", "abc", true},
		{"a*b*c", "acbc", true},
		{"a*b*c", "acb", false},
		{"**", "x", true},
		{"exact", "exact", true},
		{"exact", "exactly", false},
	} {
		p := compileRules(AttributeRules{Allow: []string{tt.pattern}}).patterns[0]
		assert.Equal(t, tt.want, p.match(tt.key), "%q ~ %q", tt.pattern, tt.key)
	}
}

func TestFoldText(t *testing.T) {
	v := func(set func(pcommon.Value)) pcommon.Value {
		x := pcommon.NewValueEmpty()
		set(x)
		return x
	}
	var scratch, text []byte
	for _, p := range []struct {
		key string
		val pcommon.Value
	}{
		{"plain", v(func(x pcommon.Value) { x.SetStr("value") })},
		{"spaced key", v(func(x pcommon.Value) { x.SetStr("two words") })},
		{"empty", v(func(x pcommon.Value) { x.SetStr("") })},
		{"quote", v(func(x pcommon.Value) { x.SetStr(`say "hi" \ bye`) })},
		{"lines", v(func(x pcommon.Value) { x.SetStr("a\nb\tc") })},
		{"eq", v(func(x pcommon.Value) { x.SetStr("a=b") })},
		{"int", v(func(x pcommon.Value) { x.SetInt(-7) })},
		{"map", v(func(x pcommon.Value) { x.SetEmptyMap().PutStr("k", "v") })},
	} {
		text = appendPair(text, p.key, p.val, &scratch)
	}
	assert.Equal(t, `plain=value "spaced key"="two words" empty="" quote="say \"hi\" \\ bye" lines="a\nb\tc" eq="a=b" int=-7 map="{\"k\":\"v\"}"`, string(text))
	assert.Equal(t, "a b", string(appendFolded([]byte("a"), []byte("b"))))
	assert.Equal(t, "b", string(appendFolded(nil, []byte("b"))))
	assert.Equal(t, "a", string(appendFolded([]byte("a"), nil)))
}

func TestFieldsCheck(t *testing.T) {
	require.NoError(t, DefaultFields().Check())
	for _, tt := range []struct {
		name   string
		change func(*Fields)
		want   string
	}{
		{"empty pattern", func(f *Fields) { f.Record.Allow = []string{"a", ""} }, `"record::allow" must not contain an empty pattern`},
		{"empty deny pattern", func(f *Fields) { f.Resource.Deny = []string{""} }, `"resource::deny" must not contain an empty pattern`},
		{"empty fold pattern", func(f *Fields) { f.Resource.Fold = []string{""} }, `"resource::fold" must not contain an empty pattern`},
		{"negative cap", func(f *Fields) { f.MaxFields = -1 }, `"max_fields" must be between 0 and 1000, got -1`},
		{"huge cap", func(f *Fields) { f.MaxFields = 1001 }, `"max_fields" must be between 0 and 1000, got 1001`},
		{"dotted fold key", func(f *Fields) { f.FoldKey = "otel.attributes" }, `"fold_key" "otel.attributes" must be letters`},
		{"empty fold key", func(f *Fields) { f.FoldKey = "" }, `"fold_key" "" must be letters`},
		{"metadata fold key", func(f *Fields) { f.FoldKey = "_source" }, `"fold_key" "_source" must be letters`},
		{"core fold key", func(f *Fields) { f.FoldKey = "content" }, `"fold_key" "content" is a core key`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := DefaultFields()
			tt.change(&f)
			assert.ErrorContains(t, f.Check(), tt.want)
		})
	}
	f := DefaultFields()
	f.MaxFields = 0
	assert.NoError(t, f.Check(), "0 folds everything")
}

// TestInvalidFoldKeyFallsBack checks the encoder's own guard: a fold key that Check would
// reject is replaced, so that the fold field can never be a key an extension field takes.
func TestInvalidFoldKeyFallsBack(t *testing.T) {
	f := DefaultFields()
	f.FoldKey = "content"
	f.MaxFields = 0
	ld := newLogs(map[string]any{}, "app").record("x", attrs(map[string]any{"k": "v"})).ld
	m := checkMessage(t, newTestEncoder(Config{Fields: &f}).EncodeLogs(ld)[0])
	assert.Equal(t, "x", m["content"])
	assert.Equal(t, "k=v", m["attributes"])
}

// TestTracesCarryNoExtensionFields pins that trace events take no attribute beyond the mapped
// ones, so that the field policy has nothing to apply to them.
func TestTracesCarryNoExtensionFields(t *testing.T) {
	events, skipped := newTestEncoder(Config{Fields: keepAll()}).EncodeTraces(benchTraces())
	require.Zero(t, skipped)
	for _, ev := range events {
		var m map[string]any
		require.NoError(t, json.Unmarshal(ev, &m))
		for k := range m {
			assert.Contains(t, []string{
				"serverName", "traceId", "appName", "env", "appNameWithEnv", "method", "time", "position", "positionNum",
			}, k)
		}
	}
}

// TestDecisionCache checks that remembered decisions equal fresh ones, past the cache's bound
// and through colliding slots, and that the cache keeps copies of the keys, not the request.
func TestDecisionCache(t *testing.T) {
	f := DefaultFields()
	f.Record = AttributeRules{Allow: []string{"*"}, Deny: []string{"*.secret"}, Fold: []string{"id.*"}}
	p := compilePolicy(f)
	var c decisionCache
	keys := []string{"", "_x", "content", "attributes", "a.secret", "id.1", "user.id", "plain"}
	for i := range 2*maxCachedKeys + 100 {
		keys = append(keys, "k."+strconv.Itoa(i), "id."+strconv.Itoa(i), strconv.Itoa(i)+".secret")
	}
	for round := range 2 {
		for i, k := range keys {
			if round == 1 {
				k = keys[len(keys)-1-i]
			}
			core := k == "content"
			require.Equal(t, p.decide(recordSide, k, core), c.decide(&p, recordSide, k, core), "%q", k)
		}
	}
	var fresh decisionCache
	request := []byte("user.id")
	k := unsafe.String(&request[0], len(request))
	assert.Equal(t, decision{key: "user_id", act: actField}, fresh.decide(&p, recordSide, k, false))
	for _, kept := range []string{fresh.recent[recordSide][slot(k)].key, fresh.all[recordSide][k].key} {
		require.Equal(t, k, kept)
		assert.NotEqual(t, uintptr(unsafe.Pointer(unsafe.StringData(k))), uintptr(unsafe.Pointer(unsafe.StringData(kept))),
			"the cache must copy the key")
	}
}
