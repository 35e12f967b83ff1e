package encoder

import (
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// Config holds what the encoder needs besides the records.
type Config struct {
	AppName    string         // used when no AppName attribute is found; must not be empty
	Env        string         // used when no Env attribute is found; must not be empty
	ServerName string         // used when no ServerName attribute is found
	Location   *time.Location // zone of dateTime; nil means time.Local
	Mapping    Mapping
	// Fields selects the extension fields; nil means DefaultFields(). It must pass Fields.Check.
	Fields *Fields
	// MaxContentBytes caps the content field; 0 means unlimited. Longer content keeps its first
	// MaxContentBytes bytes (cut at a UTF-8 boundary, counted before JSON escaping) followed by
	// a marker such as "…[truncated 1234 bytes]", so the message grows by at most the marker.
	MaxContentBytes int
}

// Encoder turns log records into Plumelog run-log messages. It is safe for concurrent use.
type Encoder struct {
	appName    string
	env        string
	serverName string
	loc        *time.Location
	maxContent int
	keys       keyTable
	policy     policy

	// seq numbers messages across all calls, so that the UI orders logs of one millisecond.
	seq atomic.Uint64
	// recordSize and spanSize are the average size of a record's message and of a span's two
	// events in the previous call, used to size the next call's buffer so that it rarely grows.
	recordSize atomic.Int64
	spanSize   atomic.Int64
	// now is the clock for records without timestamps; tests replace it.
	now   func() time.Time
	state sync.Pool
	// buffers holds the buffers of released calls.
	buffers bufferPool
}

const (
	// initialRecordSize and initialSpanSize are the first guesses, before any was measured.
	initialRecordSize = 512
	initialSpanSize   = 512
	// maxRecordEstimate caps the guess, so that a call of a few huge records does not make the
	// next call of many small ones allocate far more than it needs.
	maxRecordEstimate = 4 << 10
)

// New returns an Encoder for cfg.
func New(cfg Config) *Encoder {
	e := &Encoder{
		appName:    cfg.AppName,
		env:        cfg.Env,
		serverName: cfg.ServerName,
		loc:        cfg.Location,
		maxContent: cfg.MaxContentBytes,
		keys:       newKeyTable(cfg.Mapping),
		now:        time.Now,
	}
	fields := DefaultFields()
	if cfg.Fields != nil {
		fields = *cfg.Fields
	}
	e.policy = compilePolicy(fields)
	if e.loc == nil {
		e.loc = time.Local
	}
	e.recordSize.Store(initialRecordSize)
	e.spanSize.Store(initialSpanSize)
	e.state.New = func() any { return new(state) }
	return e
}

// EncodeLogs encodes every record of ld, in order, as one Plumelog message each.
// All messages share one backing array, which the caller may keep; each message's capacity
// ends where it does, so appending to one never overwrites the next.
func (e *Encoder) EncodeLogs(ld plog.Logs) [][]byte { return e.Logs(ld).Messages }

// Logs is EncodeLogs for callers that can tell when the messages are no longer read: their
// Release lets a later call reuse the backing array.
func (e *Encoder) Logs(ld plog.Logs) Encoded {
	n := ld.LogRecordCount()
	if n == 0 {
		return Encoded{}
	}
	st := e.getState()
	defer e.putState(st)

	buf := e.newBuffer(n, &e.recordSize)
	// Reserve the whole block of seqs at once: one atomic operation per call, and the messages
	// of one call stay consecutive.
	seq := e.seq.Add(uint64(n)) - uint64(n)
	rls := ld.ResourceLogs()
	for i := range rls.Len() {
		rl := rls.At(i)
		e.prepare(st, rl.Resource(), true)
		sls := rl.ScopeLogs()
		for j := range sls.Len() {
			sl := sls.At(j)
			scope := sl.Scope()
			lrs := sl.LogRecords()
			for k := range lrs.Len() {
				seq++
				buf = e.appendRecord(buf, st, scope, lrs.At(k), seq)
				st.ends = append(st.ends, len(buf))
			}
		}
	}
	e.recordSize.Store(int64(len(buf)/n + 1))
	return e.encoded(st, buf)
}

// newBuffer returns a buffer for n items of about the size that estimate holds.
func (e *Encoder) newBuffer(n int, estimate *atomic.Int64) []byte {
	size := n * int(min(estimate.Load(), maxRecordEstimate))
	return e.buffers.get(size + size/8)
}

// encoded cuts buf into the messages that end at st.ends. Each message's capacity ends where
// it does, so appending to one never overwrites the next.
func (e *Encoder) encoded(st *state, buf []byte) Encoded {
	if len(st.ends) == 0 {
		e.buffers.put(buf)
		return Encoded{}
	}
	if cap(buf) > 2*len(buf) {
		// The guess was far too high. The caller keeps the whole array while any message is
		// held, so hand over a buffer of the right size rather than the spare capacity.
		exact := append(e.buffers.get(len(buf)), buf...)
		e.buffers.put(buf)
		buf = exact
	}
	// Slice only now: buf may have moved while growing.
	out := make([][]byte, len(st.ends))
	start := 0
	for i, end := range st.ends {
		out[i] = buf[start:end:end]
		start = end
	}
	return Encoded{Messages: out, buf: buf, pool: &e.buffers}
}

// AppendRecord appends one message for lr to dst.
func (e *Encoder) AppendRecord(dst []byte, res pcommon.Resource, scope pcommon.InstrumentationScope, lr plog.LogRecord) []byte {
	st := e.getState()
	defer e.putState(st)
	e.prepare(st, res, true)
	return e.appendRecord(dst, st, scope, lr, e.seq.Add(1))
}

// appendHead appends the message up to and including serverName.
func (e *Encoder) appendHead(dst []byte, rec, res *picks) []byte {
	app := choose(rec, res, fieldAppName).text()
	if app == "" {
		app = e.appName
	}
	env := choose(rec, res, fieldEnv).text()
	if env == "" {
		env = e.env
	}
	server := choose(rec, res, fieldServerName).text()
	if server == "" {
		server = e.serverName
	}
	dst = append(dst, `{"appName":`...)
	dst = appendString(dst, app)
	dst = append(dst, `,"env":`...)
	dst = appendString(dst, env)
	// Escaping each part is escaping the whole: the ASCII separator cannot join a UTF-8 sequence.
	dst = append(dst, `,"appNameWithEnv":"`...)
	dst = appendEscaped(dst, app)
	dst = append(dst, "-_-"...)
	dst = appendEscaped(dst, env)
	dst = append(dst, `","serverName":`...)
	return appendString(dst, server)
}

func (e *Encoder) appendRecord(dst []byte, st *state, scope pcommon.InstrumentationScope, lr plog.LogRecord, seq uint64) []byte {
	var rec picks
	e.classifyAttributes(st, lr.Attributes(), &rec)
	res := &st.res.picks

	if rec[fieldAppName].ok || rec[fieldEnv].ok || rec[fieldServerName].ok {
		dst = e.appendHead(dst, &rec, res)
	} else {
		dst = append(dst, st.res.head...)
	}

	ts := lr.Timestamp()
	if !validTimestamp(ts) {
		ts = lr.ObservedTimestamp()
	}
	sec, nsec := int64(ts)/int64(time.Second), int(int64(ts)%int64(time.Second))
	if !validTimestamp(ts) {
		t := e.clock(st)
		sec, nsec = t.Unix(), t.Nanosecond()
	}
	dst = e.appendTimes(dst, st, sec, nsec, seq)
	dst = append(dst, `","logLevel":"`...)
	dst = append(dst, level(lr.SeverityNumber(), lr.SeverityText())...)
	dst = append(dst, `","content":`...)
	dst = e.appendContent(dst, st, lr.Body(), choose(&rec, res, fieldStacktrace).text())

	thread := choose(&rec, res, fieldThreadName).text()
	class, method := codeLocation(
		choose(&rec, res, fieldClassName).text(), choose(&rec, res, fieldMethod).text(), scope.Name(), thread)
	dst = append(dst, `,"className":`...)
	dst = appendString(dst, class)
	dst = append(dst, `,"method":`...)
	dst = appendString(dst, method)
	dst = append(dst, `,"threadName":`...)
	dst = appendString(dst, thread)

	if id := lr.TraceID(); !id.IsEmpty() {
		dst = append(dst, `,"traceId":"`...)
		dst = appendHex(dst, id)
		dst = append(dst, '"')
	}
	if id := lr.SpanID(); !id.IsEmpty() {
		dst = append(dst, `,"spanId":"`...)
		dst = appendHex(dst, id)
		dst = append(dst, '"')
	}

	return append(e.appendExtensions(dst, st), '}')
}

// appendTimes appends `,"dtTime":…,"seq":…,"dateTime":"yyyy-MM-dd HH:mm:ss.SSS` for the
// time sec seconds and nsec nanoseconds after the epoch, in the encoder's zone. The records of a
// call mostly share their second, whose digits and date are worked out once (zone offsets only
// change at whole seconds), and have consecutive seqs, whose digits are counted up.
func (e *Encoder) appendTimes(dst []byte, st *state, sec int64, nsec int, seq uint64) []byte {
	if !st.dateOK || sec != st.dateSec {
		st.date = time.Unix(sec, 0).In(e.loc).AppendFormat(st.date[:0], "2006-01-02 15:04:05")
		st.secs = strconv.AppendInt(st.secs[:0], sec, 10)
		st.dateSec, st.dateOK = sec, true
	}
	ms := nsec / int(time.Millisecond)
	millis := [3]byte{byte('0' + ms/100), byte('0' + ms/10%10), byte('0' + ms%10)}
	dst = append(dst, `,"dtTime":`...)
	if sec > 0 {
		dst = append(append(dst, st.secs...), millis[:]...)
	} else {
		dst = strconv.AppendInt(dst, sec*1000+int64(ms), 10)
	}
	dst = append(dst, `,"seq":`...)
	dst = append(dst, st.seqDigits(seq)...)
	dst = append(dst, `,"dateTime":"`...)
	dst = append(dst, st.date...)
	return append(append(dst, '.'), millis[:]...)
}

// appendContent appends the content string: the body as text, then "\n" and the stack trace
// when there is one, as Plumelog's Java appenders do.
func (e *Encoder) appendContent(dst []byte, st *state, body pcommon.Value, stack string) []byte {
	if body.Type() == pcommon.ValueTypeStr {
		return appendContent(dst, body.Str(), stack, e.maxContent)
	}
	st.scratch = appendText(st.scratch[:0], body)
	return appendContent(dst, st.scratch, stack, e.maxContent)
}

func appendContent[T string | []byte](dst []byte, body T, stack string, limit int) []byte {
	dst = append(dst, '"')
	total := len(body)
	if stack != "" {
		total += 1 + len(stack)
	}
	if limit <= 0 || total <= limit {
		dst = appendEscaped(dst, body)
		if stack != "" {
			dst = append(dst, '\\', 'n')
			dst = appendEscaped(dst, stack)
		}
		return append(dst, '"')
	}
	kept := runeCut(body, limit)
	dst = appendEscaped(dst, body[:kept])
	if kept == len(body) && stack != "" && limit > kept {
		dst = append(dst, '\\', 'n')
		n := runeCut(stack, limit-kept-1)
		dst = appendEscaped(dst, stack[:n])
		kept += 1 + n
	}
	dst = append(dst, "…[truncated "...)
	dst = strconv.AppendInt(dst, int64(total-kept), 10)
	return append(dst, ` bytes]"`...)
}

// validTimestamp reports whether ts is set and fits an int64 of nanoseconds (before 2262):
// a larger one would turn into a negative dtTime, which Plumelog's UI cannot place.
func validTimestamp(ts pcommon.Timestamp) bool {
	return ts != 0 && ts <= math.MaxInt64
}
