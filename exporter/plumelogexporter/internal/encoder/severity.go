package encoder

import (
	"strings"

	"go.opentelemetry.io/collector/pdata/plog"
)

// textLevels maps the severity texts common logging libraries send (logback, log4j, slog,
// zap, syslog, Python logging) to Plumelog's levels.
var textLevels = [...]struct{ text, level string }{
	{"info", "INFO"},
	{"error", "ERROR"},
	{"warn", "WARN"},
	{"debug", "DEBUG"},
	{"trace", "TRACE"},
	{"warning", "WARN"},
	{"information", "INFO"},
	{"notice", "INFO"},
	{"err", "ERROR"},
	{"fatal", "ERROR"},
	{"critical", "ERROR"},
	{"crit", "ERROR"},
	{"panic", "ERROR"},
	{"alert", "ERROR"},
	{"emerg", "ERROR"},
	{"emergency", "ERROR"},
}

// level returns the Plumelog level of a record. Plumelog has no FATAL, and its alerting matches
// ERROR, so fatal records (and numbers above the defined range) are ERROR. A missing or unknown
// severity is INFO, the level Plumelog's own appenders default to.
func level(n plog.SeverityNumber, text string) string {
	switch {
	case n >= plog.SeverityNumberError:
		return "ERROR"
	case n >= plog.SeverityNumberWarn:
		return "WARN"
	case n >= plog.SeverityNumberInfo:
		return "INFO"
	case n >= plog.SeverityNumberDebug:
		return "DEBUG"
	case n >= plog.SeverityNumberTrace:
		return "TRACE"
	}
	text = strings.TrimSpace(text)
	for _, t := range &textLevels {
		if strings.EqualFold(text, t.text) {
			return t.level
		}
	}
	return "INFO"
}
