package encoder

import (
	"strconv"
	"time"
)

// state is the scratch space of one encoding call, pooled so that steady-state encoding
// allocates nothing per record.
type state struct {
	res resourceState

	ext   []attr // the current record's kept attributes, in order
	plan  []planned
	heads []byte // the `,"key":` of the planned extension fields
	seen  keySet // extension keys already written for the current record
	// attrs is the number of the current record's attributes, and replanned whether any of
	// them was not the key planned at its position. cleanShape is the number of attributes of
	// the last record whose extension fields needed no check (appendExtensions) with the
	// current plan and resource, or -1.
	attrs      int
	replanned  bool
	cleanShape int
	shadow     []bool // resource extension fields replaced by a record attribute, by index
	fold       []byte // the current record's fold text, unescaped
	scratch    []byte // text of a non-string body or a map/slice value before escaping
	ends       []int  // end offset of each message in the EncodeLogs buffer
	spans      spanOrder

	// date caches "yyyy-MM-dd HH:mm:ss" and secs the decimal digits of dateSec: records of a
	// batch mostly share the second, and zone offsets only change at whole seconds.
	date    []byte
	secs    []byte
	dateSec int64
	dateOK  bool

	// seq holds the decimal digits of seqOf, which the next seq usually follows.
	seq   []byte
	seqOf uint64

	now     time.Time
	haveNow bool

	// decisions remembers the fate of attribute keys across the calls that reuse this state.
	decisions decisionCache
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
	// src holds the attribute behind each field, to fold it when a record fills the message.
	src []attr
	// fold is the logfmt text of the resource's attributes that are folded in every message.
	fold []byte
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
	st.resetPlan()
	st.seen.reset()
	st.res.keys.reset()
	clear(st.res.src)
	st.res.src = st.res.src[:0]
	st.res.picks = picks{}
	st.ends = st.ends[:0]
	st.spans.reset()
	if cap(st.scratch) > maxPooledBytes || cap(st.fold) > maxPooledBytes || cap(st.heads) > maxPooledBytes {
		st.scratch, st.fold, st.heads = nil, nil, nil
	}
	if cap(st.res.ext) > maxPooledBytes || cap(st.res.head) > maxPooledBytes || cap(st.res.fold) > maxPooledBytes {
		st.res.ext, st.res.head, st.res.fold = nil, nil, nil
	}
	e.state.Put(st)
}

// resetPlan forgets the planned attribute keys, which point into the caller's pdata.
func (st *state) resetPlan() {
	clear(st.plan)
	st.plan, st.heads = st.plan[:0], st.heads[:0]
}

// clock returns the time for records without timestamps, read once per call.
func (e *Encoder) clock(st *state) time.Time {
	if !st.haveNow {
		st.now, st.haveNow = e.now(), true
	}
	return st.now
}

// seqDigits returns the decimal digits of seq: those of the previous seq counted up by one
// when seq follows it, as the seqs of one call do.
func (st *state) seqDigits(seq uint64) []byte {
	if len(st.seq) == 0 || seq != st.seqOf+1 || seq == 0 {
		st.seq = strconv.AppendUint(st.seq[:0], seq, 10)
		st.seqOf = seq
		return st.seq
	}
	st.seqOf = seq
	d := st.seq
	i := len(d) - 1
	for ; i >= 0 && d[i] == '9'; i-- {
		d[i] = '0'
	}
	if i < 0 {
		st.seq = append(append(d[:0:0], '1'), d...)
	} else {
		d[i]++
	}
	return st.seq
}
