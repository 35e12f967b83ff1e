package encoder

import "go.opentelemetry.io/collector/pdata/pcommon"

// attr is an attribute that becomes an extension field or is folded.
type attr struct {
	key   string // as received
	field string // the extension key; "" for an attribute that is folded
	// head is the field's `,"key":` in state.heads, when field is set.
	head region
	val  pcommon.Value
}

// region is a range of bytes in a buffer of the state.
type region struct{ start, end int32 }

// planned is the fate of the attribute key at one position of a record's attributes. The
// records of one service carry the same keys in the same order, so a record whose key at a
// position is the one planned there reuses its fate for the price of a string comparison.
type planned struct {
	key  string   // the key as received; the plan is dropped when the call ends
	ki   *keyInfo // the key's mapping, when it is mapped to a Plumelog field
	d    decision // the key's fate otherwise
	head region   // `,"field":` in state.heads, when d.act is actField
}

// prepare computes the resource's share of its messages: mapped fields, the message head and,
// with extensions, the pre-encoded extension fields, which most records append verbatim, and
// the fold text of the resource's folded attributes.
func (e *Encoder) prepare(st *state, res pcommon.Resource, extensions bool) {
	r := &st.res
	r.picks = picks{}
	r.keys.reset()
	clear(r.src)
	r.src = r.src[:0]
	r.ext = r.ext[:0]
	r.ends = r.ends[:0]
	r.fold = r.fold[:0]
	for k, v := range res.Attributes().All() {
		ki := e.keys.lookup(k)
		if ki.isMapped() {
			r.picks.offer(ki, v)
			continue
		}
		if !extensions {
			continue
		}
		switch d := st.decisions.decide(&e.policy, resourceSide, k, ki != nil); {
		case d.act == actDrop:
		case d.act == actField && r.keys.add(d.key):
			r.ext = appendField(r.ext, d.key, v, &st.scratch)
			r.ends = append(r.ends, len(r.ext))
			r.src = append(r.src, attr{key: k, field: d.key, val: v})
		default:
			// Folded by the rules, or a second attribute for a key already taken.
			r.fold = appendPair(r.fold, k, v, &st.scratch)
		}
	}
	// Whether a record's fields replace the resource's depends on the resource.
	st.cleanShape = -1
	if cap(st.shadow) < len(r.ends) {
		st.shadow = make([]bool, len(r.ends))
	}
	st.shadow = st.shadow[:len(r.ends)]
	r.head = e.appendHead(r.head[:0], &picks{}, &r.picks)
}

// classifyAttributes offers a record's mapped attributes to rec and collects in st.ext those that
// become extension fields or are folded.
func (e *Encoder) classifyAttributes(st *state, attrs pcommon.Map, rec *picks) {
	st.ext = st.ext[:0]
	if len(st.heads) > maxPlannedHeads {
		// Keys that change from record to record (ids used as keys) replan without end.
		st.resetPlan()
	}
	i := 0
	st.replanned = false
	for k, v := range attrs.All() {
		var p *planned
		if i < len(st.plan) && st.plan[i].key == k {
			p = &st.plan[i]
		} else {
			p = e.replan(st, i, k)
			st.replanned = true
		}
		i++
		if p.ki != nil {
			rec.offer(p.ki, v)
			continue
		}
		if p.d.act != actDrop {
			st.ext = append(st.ext, attr{key: k, field: p.d.key, head: p.head, val: v})
		}
	}
	st.attrs = i
}

// maxPlannedHeads bounds the bytes of field heads planned in one call.
const maxPlannedHeads = 16 << 10

// replan works out the fate of k, the key at position i of a record's attributes, where the
// plan holds another key or none, and plans it there. A record whose key at i is the one
// planned there reuses its fate (classifyAttributes).
func (e *Encoder) replan(st *state, i int, k string) *planned {
	if i >= len(st.plan) {
		st.plan = append(st.plan, planned{})
		i = len(st.plan) - 1
	}
	p := &st.plan[i]
	*p = planned{key: k}
	ki := e.keys.lookup(k)
	if ki.isMapped() {
		p.ki = ki
		return p
	}
	p.d = st.decisions.decide(&e.policy, recordSide, k, ki != nil)
	if p.d.act == actField {
		start := len(st.heads)
		st.heads = append(appendString(append(st.heads, ','), p.d.key), ':')
		p.head = region{int32(start), int32(len(st.heads))}
	}
	return p
}

// appendField appends `,"key":"value"`.
func appendField(dst []byte, k string, v pcommon.Value, scratch *[]byte) []byte {
	dst = append(dst, ',')
	dst = appendString(dst, k)
	dst = append(dst, ':')
	return appendStringValue(dst, v, scratch)
}

// appendExtensions appends the record's extension fields, then the resource's that no record
// field replaced, maxFields in all, and then the fold field: the attributes past maxFields,
// those the rules fold, and those whose key is taken or cannot be a field.
//
// A record whose keys are, position for position, those of the last record found clean
// (cleanShape: every extension field its own, none folded, none replacing a resource field,
// all within maxFields) is clean too, and skips those checks.
func (e *Encoder) appendExtensions(dst []byte, st *state) []byte {
	r := &st.res
	st.fold = st.fold[:0]
	clean := !st.replanned && st.attrs == st.cleanShape
	if !clean {
		st.seen.reset()
	}
	n, shadowed, folded := 0, false, false
	for i := range st.ext {
		a := &st.ext[i]
		if !clean {
			if a.field == "" || n == e.policy.maxFields || !st.seen.add(a.field) {
				st.fold = appendPair(st.fold, a.key, a.val, &st.scratch)
				folded = true
				continue
			}
			if j := r.keys.find(a.field); j >= 0 {
				st.shadow[j] = true
				shadowed = true
			}
		}
		dst = appendStringValue(append(dst, st.heads[a.head.start:a.head.end]...), a.val, &st.scratch)
		n++
	}
	if !clean {
		st.cleanShape = -1
		if !folded && !shadowed {
			st.cleanShape = st.attrs
		}
	}
	if !shadowed && n+len(r.ends) <= e.policy.maxFields {
		dst = append(dst, r.ext...)
	} else {
		dst = st.appendResourceFields(dst, e.policy.maxFields-n)
	}
	if len(r.fold) > 0 {
		st.fold = appendFolded(st.fold, r.fold)
	}
	if len(st.fold) == 0 {
		return dst
	}
	dst = append(dst, ',')
	dst = appendString(dst, e.policy.foldKey)
	dst = append(dst, ':')
	return appendString(dst, st.fold)
}

// appendResourceFields appends the resource's fields that no record field replaced, room at
// most, and folds the others.
func (st *state) appendResourceFields(dst []byte, room int) []byte {
	r := &st.res
	start := 0
	for i, end := range r.ends {
		switch {
		case st.shadow[i]:
		case room > 0:
			dst = append(dst, r.ext[start:end]...)
			room--
		default:
			st.fold = appendPair(st.fold, r.src[i].key, r.src[i].val, &st.scratch)
		}
		st.shadow[i] = false
		start = end
	}
	return dst
}
