package main

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/plumelog-otel/otelcol-plumelog/internal/plumelogtest"
)

// drainer empties the list with LPOP, like a Plumelog server, and accounts for what it takes.
type drainer struct {
	rdb      *redis.Client
	interval time.Duration
	validate bool

	mu        sync.Mutex
	seen      []bool // by id
	delivered int    // distinct ids
	dups      int
	invalid   int
	latencies []time.Duration // from the record's timestamp to its arrival here, ms resolution
	firstErr  error
}

// start drains in a goroutine of its own until stop, which returns once the list is empty.
// stop may be called more than once.
func (d *drainer) start() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	drained := make(chan struct{})
	go func() { d.run(ctx); close(drained) }()
	return sync.OnceFunc(func() {
		cancel()
		<-drained
	})
}

// run pops until ctx ends, then once more until the list is empty.
func (d *drainer) run(ctx context.Context) {
	for {
		n := d.popAll()
		select {
		case <-ctx.Done():
			if n == 0 {
				return
			}
			continue
		default:
		}
		time.Sleep(d.interval)
	}
}

// popAll pops until the list is empty and returns the number of elements taken.
func (d *drainer) popAll() int {
	total := 0
	for {
		vals, err := d.rdb.LPopCount(context.Background(), listKey, 1000).Result()
		if errors.Is(err, redis.Nil) || len(vals) == 0 {
			return total
		}
		if err != nil {
			d.mu.Lock()
			if d.firstErr == nil {
				d.firstErr = err
			}
			d.mu.Unlock()
			return total
		}
		now := time.Now()
		d.account(vals, now)
		total += len(vals)
	}
}

func (d *drainer) account(vals []string, now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, v := range vals {
		if d.validate {
			if _, err := plumelogtest.CheckRunLog([]byte(v)); err != nil {
				d.invalid++
				continue
			}
		}
		id, ok1 := field(v, `"id":"`, '"')
		dt, ok2 := field(v, `"dtTime":`, ',')
		if !ok1 || !ok2 {
			d.invalid++
			continue
		}
		i, _ := strconv.Atoi(id)
		ms, _ := strconv.ParseInt(dt, 10, 64)
		for len(d.seen) <= i {
			d.seen = append(d.seen, make([]bool, 1<<16)...)
		}
		if d.seen[i] {
			d.dups++
			continue
		}
		d.seen[i] = true
		d.delivered++
		d.latencies = append(d.latencies, now.Sub(time.UnixMilli(ms)))
	}
}

// field returns the text after prefix up to end, read straight from the JSON element: the
// drainer must not be the bottleneck of a throughput run.
func field(s, prefix string, end byte) (string, bool) {
	i := strings.Index(s, prefix)
	if i < 0 {
		return "", false
	}
	s = s[i+len(prefix):]
	j := strings.IndexByte(s, end)
	if j < 0 {
		return "", false
	}
	return s[:j], true
}

func (d *drainer) counts() (delivered, dups, invalid int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.delivered, d.dups, d.invalid
}
