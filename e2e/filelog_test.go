package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plumelog-otel/otelcol-plumelog/internal/otelcoltest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/plumelogtest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/redistest"
)

// fileZone is the zone the test's application writes its timestamps in: not the machine's, so
// that a parse in the wrong zone shows.
const fileZone = "Asia/Shanghai"

// javaEntry is one entry a Java logging framework writes to a file.
type javaEntry struct {
	id      int
	at      time.Time
	thread  string
	level   string
	logger  string
	message string
	stack   string // empty, or the lines after the message
}

var (
	javaLevels  = []string{"INFO", "DEBUG", "WARN", "ERROR", "TRACE"}
	javaThreads = []string{"main", "http-nio-8080-exec-3", "pool-2-thread-1", "scheduling 1"}
	javaLoggers = []string{"c.e.orders.OrderService", "com.example.orders.PaymentClient", "o.s.web.servlet.DispatcherServlet"}
)

// newJavaEntry returns entry id: every tenth one, an ERROR, carries a stack trace.
func newJavaEntry(id int, base time.Time) javaEntry {
	e := javaEntry{
		id:      id,
		at:      base.Add(time.Duration(id) * 1003 * time.Millisecond),
		thread:  javaThreads[id%len(javaThreads)],
		level:   javaLevels[id%len(javaLevels)],
		logger:  javaLoggers[id%len(javaLoggers)],
		message: fmt.Sprintf(`order %d created for "Zoë" [cart=%d] - total 42.00 €`, id, id*7),
	}
	if id%10 == 3 {
		e.stack = fmt.Sprintf("java.lang.IllegalStateException: payment %d declined\n"+
			"\tat com.example.orders.PaymentClient.charge(PaymentClient.java:88)\n"+
			"\tat com.example.orders.OrderService.place(OrderService.java:42)\n"+
			"Caused by: java.net.SocketTimeoutException: Read timed out\n"+
			"\tat java.base/sun.nio.ch.NioSocketImpl.timedRead(NioSocketImpl.java:288)\n"+
			"\t... 12 more", id)
	}
	return e
}

// format writes the entry with layout, the timestamp part of the pattern: logback's
// `%d{yyyy-MM-dd HH:mm:ss.SSS} [%thread] %-5level %logger{36} - %msg%n` and its log4j2
// counterparts differ only there.
func (e javaEntry) format(layout string) string {
	s := fmt.Sprintf("%s [%s] %-5s %s - %s\n", e.at.Format(layout), e.thread, e.level, e.logger, e.message)
	if e.stack != "" {
		s += e.stack + "\n"
	}
	return s
}

const (
	logbackLayout       = "2006-01-02 15:04:05.000"
	log4j2Layout        = "2006-01-02 15:04:05,000"
	log4j2ISO8601Layout = "2006-01-02T15:04:05,000"
)

// appendEntries appends the entries ids [from, to) to the file in writes of a few entries
// each, a little apart, as a running application does.
func appendEntries(t *testing.T, path string, base time.Time, from, to int, layout string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	require.NoError(t, err)
	defer f.Close()
	var chunk strings.Builder
	for id := from; id < to; id++ {
		chunk.WriteString(newJavaEntry(id, base).format(layout))
		if id%17 == 0 || id == to-1 {
			_, err := f.WriteString(chunk.String())
			require.NoError(t, err)
			chunk.Reset()
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// startLegacyFiles starts the legacy-files example tailing dir/*.log into srv, with its
// offsets in storage.
func startLegacyFiles(t *testing.T, srv *redistest.Server, dir, storage string) *collector {
	t.Helper()
	return startExample(t, "legacy-files/config.yaml",
		[]string{"PLUMELOG_REDIS=" + srv.Addr, "LOG_TIMEZONE=" + fileZone, "PLUMELOG_ENV=staging"},
		func(cfg map[string]any) {
			otelcoltest.Set(cfg, "receivers::file_log::include", []any{filepath.Join(dir, "*.log")})
			otelcoltest.Set(cfg, "extensions::file_storage::directory", storage)
		})
}

// origin is where a file's entries come from: appName, env and serverName.
type origin struct{ app, env, server string }

// legacyFilesOrigin is what the legacy-files example gives the entries of startLegacyFiles.
func legacyFilesOrigin(t *testing.T) origin {
	host, err := os.Hostname()
	require.NoError(t, err)
	return origin{"order-service", "staging", host}
}

// checkJavaEntries checks that msgs are exactly the entries ids [0, n), once each, with every
// field Plumelog's Java appender would have written.
func checkJavaEntries(t *testing.T, msgs []map[string]any, base time.Time, n int, from origin) {
	t.Helper()
	require.Len(t, msgs, n)
	loc, err := time.LoadLocation(fileZone)
	require.NoError(t, err)
	seen := make([]bool, n)
	stacks := 0
	for _, m := range msgs {
		content, _ := m["content"].(string)
		id, err := strconv.Atoi(strings.Fields(content)[1])
		require.NoError(t, err, content)
		require.Less(t, id, n, content)
		require.False(t, seen[id], "entry %d arrived twice", id)
		seen[id] = true

		e := newJavaEntry(id, base)
		want := e.message
		if e.stack != "" {
			want += "\n" + e.stack
			stacks++
		}
		assert.Equal(t, want, content, "entry %d", id)
		assert.Equal(t, e.level, m["logLevel"], "entry %d", id)
		assert.Equal(t, e.thread, m["threadName"], "entry %d", id)
		assert.Equal(t, e.thread, m["method"], "entry %d: method falls back to the thread", id)
		assert.Equal(t, e.logger, m["className"], "entry %d", id)
		assert.Equal(t, strconv.FormatInt(e.at.UnixMilli(), 10), fmt.Sprint(m["dtTime"]), "entry %d", id)
		assert.Equal(t, e.at.In(loc).Format(logbackLayout), m["dateTime"], "entry %d", id)
		assert.Equal(t, from.app, m["appName"])
		assert.Equal(t, from.env, m["env"])
		assert.Equal(t, from.server, m["serverName"])
		for k := range m {
			assert.Contains(t, []string{"appName", "env", "appNameWithEnv", "serverName", "dtTime", "seq",
				"dateTime", "logLevel", "content", "className", "method", "threadName"}, k, "entry %d", id)
		}
	}
	for id, ok := range seen {
		require.True(t, ok, "entry %d never arrived", id)
	}
	require.Equal(t, n/10, stacks, "entries with a stack trace")
}

// TestLegacyFilesExample tails a logback file with the legacy-files example while the
// application appends 1,000 entries, 100 of them with multi-line stack traces; then restarts
// the collector while 200 more are written and appends 300 after it: 1,500 messages, each
// once, with the fields Plumelog's Java appender would write.
func TestLegacyFilesExample(t *testing.T) {
	srv := redistest.Start(t)
	dir, storage := t.TempDir(), t.TempDir()
	path := filepath.Join(dir, "order-service.log")
	loc, err := time.LoadLocation(fileZone)
	require.NoError(t, err)
	base := time.Date(2024, 6, 20, 16, 50, 45, 123_000_000, loc)

	col := startLegacyFiles(t, srv, dir, storage)
	appendEntries(t, path, base, 0, 1000, logbackLayout)
	rdb := srv.Client()
	checkJavaEntries(t, plumelogtest.Messages(t, waitForLen(t, rdb, "plume_log_list", 1000)), base, 1000, legacyFilesOrigin(t))

	require.NoError(t, col.Stop())
	appendEntries(t, path, base, 1000, 1200, logbackLayout)
	require.NoError(t, col.Restart())
	appendEntries(t, path, base, 1200, 1500, logbackLayout)
	checkJavaEntries(t, plumelogtest.Messages(t, waitForLen(t, rdb, "plume_log_list", 1500)), base, 1500, legacyFilesOrigin(t))
}

// TestLegacyFilesLog4j2Patterns checks the example's parsing of log4j2's timestamp formats
// next to logback's, in three files.
func TestLegacyFilesLog4j2Patterns(t *testing.T) {
	srv := redistest.Start(t)
	dir := t.TempDir()
	loc, err := time.LoadLocation(fileZone)
	require.NoError(t, err)
	base := time.Date(2025, 1, 2, 3, 4, 5, 6_000_000, loc)

	startLegacyFiles(t, srv, dir, t.TempDir())
	for i, layout := range []string{logbackLayout, log4j2Layout, log4j2ISO8601Layout} {
		appendEntries(t, filepath.Join(dir, fmt.Sprintf("app-%d.log", i)), base, i*20, i*20+20, layout)
	}
	checkJavaEntries(t, plumelogtest.Messages(t, waitForLen(t, srv.Client(), "plume_log_list", 60)), base, 60, legacyFilesOrigin(t))
}

// TestKubernetesAgentConfig runs the DaemonSet's config from its ConfigMap: the directory a
// file is in names the service, the node's name is the serverName.
func TestKubernetesAgentConfig(t *testing.T) {
	srv := redistest.Start(t)
	dir := t.TempDir()
	cfg := configMapConfig(t, "kubernetes/daemonset.yaml")
	startConfig(t, cfg, []string{"PLUMELOG_REDIS_PASSWORD=", "K8S_NODE_NAME=node-7", "LOG_TIMEZONE=" + fileZone},
		func(cfg map[string]any) {
			otelcoltest.Set(cfg, "receivers::file_log::include", []any{filepath.Join(dir, "apps", "*", "*.log")})
			otelcoltest.Set(cfg, "extensions::file_storage::directory", t.TempDir())
			otelcoltest.Set(cfg, "exporters::plumelog::endpoint", srv.Addr)
		})
	loc, err := time.LoadLocation(fileZone)
	require.NoError(t, err)
	base := time.Date(2025, 3, 4, 5, 6, 7, 8_000_000, loc)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "apps", "billing"), 0o755))
	appendEntries(t, filepath.Join(dir, "apps", "billing", "billing.log"), base, 0, 30, logbackLayout)
	checkJavaEntries(t, plumelogtest.Messages(t, waitForLen(t, srv.Client(), "plume_log_list", 30)), base, 30,
		origin{"billing", "default", "node-7"})
}
