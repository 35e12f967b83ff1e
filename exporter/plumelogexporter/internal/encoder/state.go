package encoder

import (
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// attr is a record attribute that becomes an extension field.
type attr struct {
	key string
	val pcommon.Value
}

// state is the scratch space of one encoding call, pooled so that steady-state encoding
// allocates nothing per record.
type state struct {
	res resourceState

	ext     []attr // the current record's extension attributes, in order
	seen    keySet // extension keys already written for the current record
	shadow  []bool // resource extension fields replaced by a record attribute, by index
	scratch []byte // text of a non-string body or a map/slice value before escaping
	ends    []int  // end offset of each message in the EncodeLogs buffer
	spans   spanOrder

	// date caches "yyyy-MM-dd HH:mm:ss" for dateSec: records of a batch mostly share the second,
	// and zone offsets only change at whole seconds.
	date    []byte
	dateSec int64
	dateOK  bool

	now     time.Time
	haveNow bool
}

// resourceState holds what a resource contributes to each of its records, computed once.
type resourceState struct {
	picks picks
	// head is `{"appName":…,"serverName":"…"` for records that do not override those fields.
	head []byte
	// ext is `,"key":"value"` for every resource extension field; ends[i] is where field i ends
	// in ext and keys.keys[i] its key.
	ext  []byte
	ends []int
	keys keySet
}

// maxPooledBytes keeps a rare huge message from pinning its buffers in the pool.
const maxPooledBytes = 64 << 10

func (e *Encoder) getState() *state {
	st := e.state.Get().(*state)
	st.haveNow = false
	return st
}

func (e *Encoder) putState(st *state) {
	// Drop every reference into the caller's pdata so the pool does not keep it alive.
	clear(st.ext[:cap(st.ext)])
	st.ext = st.ext[:0]
	st.seen.reset()
	st.res.keys.reset()
	st.res.picks = picks{}
	st.ends = st.ends[:0]
	st.spans.reset()
	if cap(st.scratch) > maxPooledBytes {
		st.scratch = nil
	}
	if cap(st.res.ext) > maxPooledBytes || cap(st.res.head) > maxPooledBytes {
		st.res.ext, st.res.head = nil, nil
	}
	e.state.Put(st)
}

// clock returns the time for records without timestamps, read once per call.
func (e *Encoder) clock(st *state) time.Time {
	if !st.haveNow {
		st.now, st.haveNow = e.now(), true
	}
	return st.now
}

// prepare computes the resource's share of its messages: mapped fields, the message head and,
// with extensions, the pre-encoded extension fields, which most records append verbatim.
func (e *Encoder) prepare(st *state, res pcommon.Resource, extensions bool) {
	r := &st.res
	r.picks = picks{}
	r.keys.reset()
	r.ext = r.ext[:0]
	r.ends = r.ends[:0]
	for k, v := range res.Attributes().All() {
		if ki := e.keys.lookup(k); ki != nil {
			if ki.mapped {
				r.picks.offer(ki, v)
			}
			continue
		}
		if !extensions {
			continue
		}
		k = validKey(k)
		if !r.keys.add(k) {
			continue
		}
		r.ext = appendField(r.ext, k, v, &st.scratch)
		r.ends = append(r.ends, len(r.ext))
	}
	if cap(st.shadow) < len(r.ends) {
		st.shadow = make([]bool, len(r.ends))
	}
	st.shadow = st.shadow[:len(r.ends)]
	r.head = e.appendHead(r.head[:0], &picks{}, &r.picks)
}
