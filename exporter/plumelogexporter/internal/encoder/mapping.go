package encoder

import (
	"errors"
	"slices"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/confcheck"
)

// Mapping names the attribute keys each Plumelog field is read from, in priority order.
// For every key, the record's attributes are consulted first, then the resource's.
//
// A nil list means the default list; an empty non-nil list disables the field's lookup, leaving
// it to the Config fallback. Attributes holding an empty string or an empty slice count as
// absent. A slice value contributes its first element, except for Stacktrace, which takes the
// whole value as text. Every listed key is consumed: it never becomes an extension field.
type Mapping struct {
	AppName    []string `mapstructure:"app_name"`
	Env        []string `mapstructure:"env"`
	ServerName []string `mapstructure:"server_name"`
	ClassName  []string `mapstructure:"class_name"`
	Method     []string `mapstructure:"method"`
	ThreadName []string `mapstructure:"thread_name"`
	Stacktrace []string `mapstructure:"stacktrace"`
}

// mappingKeys are the configuration keys of the Mapping fields, by field.
var mappingKeys = [numFields]string{
	fieldAppName: "app_name", fieldEnv: "env", fieldServerName: "server_name", fieldClassName: "class_name",
	fieldMethod: "method", fieldThreadName: "thread_name", fieldStacktrace: "stacktrace",
}

// Check reports the lists that hold an empty attribute key, by their key.
func (m Mapping) Check() error {
	var errs []error
	for f, keys := range m.lists() {
		if slices.Contains(keys, "") {
			errs = append(errs, confcheck.Errorf(mappingKeys[f], "must not contain an empty attribute key"))
		}
	}
	return errors.Join(errs...)
}

// DefaultMapping returns the mapping for OpenTelemetry semantic conventions, old and new names.
func DefaultMapping() Mapping {
	return Mapping{
		AppName:    []string{"service.name"},
		Env:        []string{"deployment.environment.name", "deployment.environment"},
		ServerName: []string{"host.ip", "host.name"},
		ClassName:  []string{"code.namespace"},
		Method:     []string{"code.function", "code.function.name"},
		ThreadName: []string{"thread.name"},
		Stacktrace: []string{"exception.stacktrace"},
	}
}

// field indexes the Plumelog fields that come from attributes.
type field int

const (
	fieldAppName field = iota
	fieldEnv
	fieldServerName
	fieldClassName
	fieldMethod
	fieldThreadName
	fieldStacktrace
	numFields
)

// lists returns the key lists indexed by field, with nil lists replaced by the defaults.
func (m Mapping) lists() [numFields][]string {
	d := DefaultMapping()
	or := func(l, def []string) []string {
		if l == nil {
			return def
		}
		return l
	}
	return [numFields][]string{
		fieldAppName:    or(m.AppName, d.AppName),
		fieldEnv:        or(m.Env, d.Env),
		fieldServerName: or(m.ServerName, d.ServerName),
		fieldClassName:  or(m.ClassName, d.ClassName),
		fieldMethod:     or(m.Method, d.Method),
		fieldThreadName: or(m.ThreadName, d.ThreadName),
		fieldStacktrace: or(m.Stacktrace, d.Stacktrace),
	}
}

// coreKeys are the keys of a run-log message that an attribute must never overwrite or repeat.
var coreKeys = [...]string{
	"appName", "env", "appNameWithEnv", "serverName", "dtTime", "seq", "dateTime", "logLevel",
	"content", "className", "method", "threadName", "traceId", "spanId", "logType",
}

// keyInfo describes an attribute key that is not an extension field.
type keyInfo struct {
	key string
	// rank is the key's position in each field's Mapping list, -1 when not listed.
	rank [numFields]int
	// fields lists the fields whose Mapping list holds the key.
	fields []field
}

// isMapped reports whether ki describes a key that some Plumelog field is read from.
func (ki *keyInfo) isMapped() bool { return ki != nil && len(ki.fields) > 0 }

// keyTable finds the keyInfo of an attribute key. It is indexed by key length: the known keys
// have few distinct lengths, so most attribute keys are rejected by one slice lookup and the
// rest by comparing against a handful of same-length keys, cheaper than hashing every key.
type keyTable [][]keyInfo

func newKeyTable(m Mapping) keyTable {
	var infos []keyInfo
	find := func(k string) *keyInfo {
		for i := range infos {
			if infos[i].key == k {
				return &infos[i]
			}
		}
		infos = append(infos, keyInfo{key: k})
		ki := &infos[len(infos)-1]
		for f := range ki.rank {
			ki.rank[f] = -1
		}
		return ki
	}
	for _, k := range coreKeys {
		find(k)
	}
	for f, keys := range m.lists() {
		for r, k := range keys {
			ki := find(k)
			if ki.rank[f] < 0 {
				ki.rank[f] = r
				ki.fields = append(ki.fields, field(f))
			}
		}
	}
	longest := 0
	for _, ki := range infos {
		longest = max(longest, len(ki.key))
	}
	t := make(keyTable, longest+1)
	for _, ki := range infos {
		t[len(ki.key)] = append(t[len(ki.key)], ki)
	}
	return t
}

// lookup returns the keyInfo of k, or nil when k is an extension field.
func (t keyTable) lookup(k string) *keyInfo {
	if len(k) >= len(t) {
		return nil
	}
	b := t[len(k)]
	for i := range b {
		if b[i].key == k {
			return &b[i]
		}
	}
	return nil
}

// pick is the best attribute found so far for one field.
type pick struct {
	v    pcommon.Value
	rank int
	ok   bool
}

// picks holds one pick per field, from either the record or the resource.
type picks [numFields]pick

// offer considers v, the value of a key described by ki, for every field ki is mapped to.
// A duplicate key keeps its first value, as pcommon.Map.Get would.
func (ps *picks) offer(ki *keyInfo, v pcommon.Value) {
	// Mapped attributes are nearly always non-empty strings, which every field takes as they are.
	str := v.Str() != ""
	for _, f := range ki.fields {
		r := ki.rank[f]
		if ps[f].ok && r >= ps[f].rank {
			continue
		}
		if str {
			ps[f] = pick{v: v, rank: r, ok: true}
			continue
		}
		fv := v
		if f != fieldStacktrace {
			for fv.Type() == pcommon.ValueTypeSlice && fv.Slice().Len() > 0 {
				fv = fv.Slice().At(0)
			}
		}
		if usable(fv) {
			ps[f] = pick{v: fv, rank: r, ok: true}
		}
	}
}

// usable reports whether v carries a value worth taking over the fallbacks.
func usable(v pcommon.Value) bool {
	switch v.Type() {
	case pcommon.ValueTypeEmpty:
		return false
	case pcommon.ValueTypeStr:
		return v.Str() != ""
	case pcommon.ValueTypeBytes:
		return v.Bytes().Len() > 0
	case pcommon.ValueTypeSlice:
		return v.Slice().Len() > 0
	default:
		return true
	}
}

// choose returns the pick for f: the record's unless the resource has a key listed earlier.
func choose(rec, res *picks, f field) pick {
	if rec[f].ok && (!res[f].ok || rec[f].rank <= res[f].rank) {
		return rec[f]
	}
	return res[f]
}

// text returns the picked value as text, or "" when nothing was picked. Only non-string
// values, which are rare for these fields, cost an allocation.
func (p pick) text() string {
	if !p.ok {
		return ""
	}
	// A picked string is never empty (usable).
	if s := p.v.Str(); s != "" {
		return s
	}
	return string(appendText(nil, p.v))
}

// codeLocation resolves className and method. A method value holding a dotted, fully qualified
// name (code.function.name in current semantic conventions, "com.example.OrderService.create")
// is split at its last '.' when no ClassName attribute was found: the part before becomes the
// class, the part after the method. When a ClassName attribute was found, the method is used as
// is, minus a leading "<className>." so that a qualified name does not repeat the class.
// Missing classes fall back to the instrumentation scope name (the logger name for Java
// appenders) and missing methods to the thread name, as Plumelog's own appenders do.
func codeLocation(class, method, scopeName, thread string) (string, string) {
	if class != "" {
		if len(method) > len(class) && method[len(class)] == '.' && strings.HasPrefix(method, class) {
			method = method[len(class)+1:]
		}
	} else if i := strings.LastIndexByte(method, '.'); i >= 0 {
		class, method = method[:i], method[i+1:]
	}
	if class == "" {
		class = scopeName
	}
	if method == "" {
		method = thread
	}
	return class, method
}
