package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/plumelog-otel/otelcol-plumelog/internal/otelcoltest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/redistest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/testenv"
)

// env is a redis-server and a collector sending to it, in a temporary directory.
type env struct {
	dir   string
	redis *redistest.Process
	rdb   *redis.Client
	col   *otelcoltest.Collector
	pprof string // the collector's pprof extension, host:port
}

func setup(o options) (*env, error) {
	dir, err := os.MkdirTemp("", "plumelog-soak-")
	if err != nil {
		return nil, err
	}
	e := &env{dir: dir}
	if e.redis, err = redistest.Launch(dir); err != nil {
		e.close()
		return nil, fmt.Errorf("%w (make soak installs redis-server)", err)
	}
	e.rdb = redis.NewClient(&redis.Options{Addr: e.redis.Addr})
	if err := e.startCollector(o); err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}

func (e *env) startCollector(o options) error {
	var err error
	if e.pprof, err = testenv.FreeAddr(); err != nil {
		return err
	}
	cfg := otelcoltest.Config{
		Exporter:   otelcoltest.Settings{"endpoint": e.redis.Addr},
		Extensions: map[string]otelcoltest.Settings{"pprof": {"endpoint": e.pprof}},
	}
	if o.durable {
		cfg.Exporter["sending_queue::storage"] = "file_storage"
		cfg.Extensions["file_storage"] = otelcoltest.Settings{"directory": e.dir, "fsync": o.fsync}
	}
	e.col, err = otelcoltest.Start(o.collector, e.dir, cfg)
	return err
}

func (e *env) close() {
	if e.col != nil {
		_ = e.col.Stop()
	}
	if e.rdb != nil {
		_ = e.rdb.Close()
	}
	if e.redis != nil {
		e.redis.Stop()
	}
	_ = os.RemoveAll(e.dir)
}

func waitFor(limit time.Duration, ok func() bool) error {
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready within %s", limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

// goroutines reads the collector's goroutine count from its pprof extension.
func (e *env) goroutines() (int, error) {
	resp, err := http.Get("http://" + e.pprof + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil {
		return 0, err
	}
	n, ok := strings.CutPrefix(strings.TrimSpace(line), "goroutine profile: total ")
	if !ok {
		return 0, fmt.Errorf("unexpected goroutine profile %q", line)
	}
	return strconv.Atoi(n)
}

// memory returns the collector's resident and peak resident memory in bytes (VmRSS, VmHWM).
func (e *env) memory() (rss, hwm int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", e.col.Pid()))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(fields[1], 10, 64)
		switch fields[0] {
		case "VmRSS:":
			rss = kb << 10
		case "VmHWM:":
			hwm = kb << 10
		}
	}
	return rss, hwm, sc.Err()
}

type sample struct {
	at           time.Duration
	rss, heap    int64
	sys          int64 // memory the Go runtime holds from the OS
	goroutines   int
	buffer, list int64
	redisMem     int64
}

func (e *env) takeSample(start time.Time) (sample, error) {
	s := sample{at: time.Since(start).Round(time.Second)}
	var err error
	if s.rss, _, err = e.memory(); err != nil {
		return s, err
	}
	if s.goroutines, err = e.goroutines(); err != nil {
		return s, err
	}
	m, err := e.col.Scrape()
	if err != nil {
		return s, err
	}
	s.heap = int64(otelcoltest.Sum(m, "otelcol_process_runtime_heap_alloc_bytes"))
	s.sys = int64(otelcoltest.Sum(m, "otelcol_process_runtime_total_sys_memory_bytes"))
	s.buffer = int64(otelcoltest.Sum(m, "otelcol_plumelog_exporter_buffer_records"))
	s.list = e.rdb.LLen(context.Background(), listKey).Val()
	info := e.rdb.InfoMap(context.Background(), "memory").Item("Memory", "used_memory")
	s.redisMem, _ = strconv.ParseInt(info, 10, 64)
	return s, nil
}
