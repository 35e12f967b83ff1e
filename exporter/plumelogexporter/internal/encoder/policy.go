package encoder

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// action is what becomes of an attribute that no Mapping consumes. At a tie between
// patterns, the lower action wins.
type action uint8

const (
	actDrop action = iota
	actFold
	actField
)

// side selects the rules for record or for resource attributes.
type side int

const (
	recordSide side = iota
	resourceSide
	numSides
)

// policy is Fields compiled once per encoder.
type policy struct {
	rules     [numSides]rules
	maxFields int
	foldKey   string
}

func compilePolicy(f Fields) policy {
	p := policy{
		rules:     [numSides]rules{recordSide: compileRules(f.Record), resourceSide: compileRules(f.Resource)},
		maxFields: max(f.MaxFields, 0),
		foldKey:   f.FoldKey,
	}
	if checkFoldKey(p.foldKey) != nil {
		// Check rejects such a key; should one get here anyway, the fold field must still be
		// a key that no extension field can take.
		p.foldKey = DefaultFields().FoldKey
	}
	return p
}

// rules are AttributeRules compiled into patterns.
type rules struct {
	patterns []pattern
	// all is set when the rules are allow "*" alone, the default for records: every key is
	// kept, so a plain key needs no lookup at all.
	all bool
}

// pattern is one compiled entry of an Allow, Deny or Fold list.
type pattern struct {
	parts    []string // the pattern split at each '*'
	literals int      // its characters other than '*', which rank it among the matches
	act      action
}

func compileRules(r AttributeRules) rules {
	var out rules
	for _, l := range []struct {
		list []string
		act  action
	}{{r.Allow, actField}, {r.Deny, actDrop}, {r.Fold, actFold}} {
		for _, s := range l.list {
			out.patterns = append(out.patterns, pattern{
				parts:    strings.Split(s, "*"),
				literals: len(s) - strings.Count(s, "*"),
				act:      l.act,
			})
		}
	}
	out.all = len(r.Allow) == 1 && r.Allow[0] == "*" && len(r.Deny) == 0 && len(r.Fold) == 0
	return out
}

// action returns what the most specific pattern that matches k says.
func (r *rules) action(k string) action {
	best, bestLiterals := actDrop, -1
	for i := range r.patterns {
		p := &r.patterns[i]
		if p.literals < bestLiterals || p.literals == bestLiterals && p.act >= best {
			continue
		}
		if p.match(k) {
			best, bestLiterals = p.act, p.literals
		}
	}
	return best
}

// match reports whether k matches the pattern, each '*' standing for any run of characters.
func (p *pattern) match(k string) bool {
	first, last := p.parts[0], p.parts[len(p.parts)-1]
	if len(p.parts) == 1 {
		return k == first
	}
	if len(k) < len(first)+len(last) || !strings.HasPrefix(k, first) || !strings.HasSuffix(k, last) {
		return false
	}
	rest := k[len(first) : len(k)-len(last)]
	for _, part := range p.parts[1 : len(p.parts)-1] {
		i := strings.Index(rest, part)
		if i < 0 {
			return false
		}
		rest = rest[i+len(part):]
	}
	return true
}

// fieldByte marks the ASCII bytes an extension key keeps: letters, digits, '-' and '_'.
var fieldByte = func() (t [256]bool) {
	for c := range utf8.RuneSelf {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_'
	}
	return t
}()

// fieldKey returns the key of the extension field for attribute key k: every character other
// than a letter, a digit, '-' or '_' becomes '_' (so "error.type" becomes "error_type"), and
// invalid UTF-8 bytes become '_' too. A key without '.' is never an object path in
// Elasticsearch, so no two messages can make a key an object in one and a value in another.
// ok is false for a key that Elasticsearch refuses or reserves: empty, or starting with '_'
// (its metadata fields, "_id", "_source"...).
func fieldKey(k string) (key string, ok bool) {
	if plainKey(k) {
		return k, true
	}
	if k == "" {
		return "", false
	}
	b := make([]byte, 0, len(k))
	for _, r := range k {
		switch {
		case r < utf8.RuneSelf && fieldByte[r]:
			b = append(b, byte(r))
		case r >= utf8.RuneSelf && r != utf8.RuneError && (unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)):
			b = utf8.AppendRune(b, r)
		default:
			b = append(b, '_')
		}
	}
	return string(b), b[0] != '_'
}

// plainKey reports whether fieldKey keeps k as it is, checked without allocating.
func plainKey(k string) bool {
	if k == "" || k[0] == '_' {
		return false
	}
	for i := range len(k) {
		if !fieldByte[k[i]] {
			return false
		}
	}
	return true
}

// decision is the fate of one attribute key.
type decision struct {
	key string // the field key, when act is actField
	act action
}

// decide returns the fate of attribute key k under the rules of s. core tells that k is a core
// key of the message, which an attribute can never take: kept, it is folded.
func (p *policy) decide(s side, k string, core bool) decision {
	act := p.rules[s].action(k)
	if act != actField {
		return decision{act: act}
	}
	fk, ok := fieldKey(k)
	if !ok || core || fk == p.foldKey {
		return decision{act: actFold}
	}
	return decision{key: fk, act: actField}
}

// maxCachedKeys bounds the decisions a state remembers per side; attribute keys that carry
// ids would otherwise grow the cache without end.
const maxCachedKeys = 4096

// recentSlots is the size of the direct-mapped cache in front of the map of decisions.
const recentSlots = 64

// known is a remembered decision, with its own copy of the key: k may point into the received
// request, which the cache must not keep alive.
type known struct {
	key string
	d   decision
}

// decisionCache remembers decisions per side. The keys a service writes repeat on every
// record, so most lookups hit recent, which costs a string comparison instead of a map lookup.
type decisionCache struct {
	recent [numSides][recentSlots]known
	all    [numSides]map[string]known
}

// slot places k in recent by its length and three of its bytes.
func slot(k string) int {
	n := uint(len(k))
	return int((n*31 + uint(k[0])*7 + uint(k[n/2])*3 + uint(k[n-1])) % recentSlots)
}

// decide returns p.decide(s, k, core), remembered when it can be. A plain key under rules
// that keep everything needs no lookup at all.
func (c *decisionCache) decide(p *policy, s side, k string, core bool) decision {
	if k == "" {
		return p.decide(s, k, core)
	}
	r := &c.recent[s][slot(k)]
	if r.key == k {
		return r.d
	}
	if p.rules[s].all && !core && plainKey(k) && k != p.foldKey {
		return decision{key: k, act: actField}
	}
	m := c.all[s]
	e, ok := m[k]
	if !ok {
		e = known{key: strings.Clone(k), d: p.decide(s, k, core)}
		if e.d.key == k {
			e.d.key = e.key
		}
		if m == nil {
			m = make(map[string]known)
			c.all[s] = m
		} else if len(m) >= maxCachedKeys {
			clear(m)
		}
		m[e.key] = e
	}
	*r = e
	return e.d
}
