package e2e

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	otellog "go.opentelemetry.io/otel/log"

	"github.com/plumelog-otel/otelcol-plumelog/internal/otelcoltest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/plumelogtest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/redistest"
)

// routedApp is an application sending to the routing example, and where its logs must land.
type routedApp struct {
	service, env string
	route        string // the Redis its logs belong in
}

var routingSeverities = []struct {
	number otellog.Severity
	level  string
}{
	{otellog.SeverityDebug, "DEBUG"}, {otellog.SeverityInfo, "INFO"}, {otellog.SeverityWarn, "WARN"},
	{otellog.SeverityError, "ERROR"}, {otellog.SeverityTrace, "TRACE"},
}

// dropped says whether the example's filter/drop-debug removes record i of an app in env.
func dropped(env string, i int) bool {
	lvl := routingSeverities[i%len(routingSeverities)].level
	return env == "prod" && (lvl == "DEBUG" || lvl == "TRACE")
}

// sendRouted sends n records of app in requests of 5, each with a password in its body and
// attributes the example strips.
func sendRouted(t *testing.T, endpoint string, app routedApp, n int) {
	t.Helper()
	client, err := otelcoltest.NewClientWithResource(endpoint, false,
		attribute.String("service.name", app.service), attribute.String("deployment.environment.name", app.env))
	require.NoError(t, err)
	defer func() { require.NoError(t, client.Shutdown(context.Background())) }()
	for from := 0; from < n; from += 5 {
		records := make([]otellog.Record, 5)
		for j := range records {
			i := from + j
			r := &records[j]
			r.SetTimestamp(time.Now())
			r.SetSeverity(routingSeverities[i%len(routingSeverities)].number)
			r.SetBody(attribute.StringValue(fmt.Sprintf("%s %d login password=hunter2&next=/cart", app.service, i)))
			r.AddAttributes(
				attribute.String("user.id", "u"+strconv.Itoa(i)),
				attribute.String("user.email", "someone@example.com"),
				attribute.String("http.request.header.authorization", "Bearer abc"),
			)
		}
		require.NoError(t, client.Export(context.Background(), client.Emit(records...)))
	}
}

// TestRoutingExample sends the logs of four apps through the routing example: orders and
// payments land in Redis servers of their own, the others in the default one; DEBUG and
// TRACE of production apps are dropped, passwords masked and two attributes removed.
func TestRoutingExample(t *testing.T) {
	const perApp = 100
	servers := map[string]*redistest.Server{
		"orders": redistest.Start(t), "payments": redistest.Start(t), "default": redistest.Start(t),
	}
	col := startExample(t, "routing/config.yaml", nil, func(cfg map[string]any) {
		for route, srv := range servers {
			otelcoltest.Set(cfg, "exporters::plumelog/"+route+"::endpoint", srv.Addr)
		}
	})
	apps := []routedApp{
		{"orders", "prod", "orders"}, {"payments", "prod", "payments"},
		{"inventory", "prod", "default"}, {"reporting", "staging", "default"},
	}
	want := map[string]int{}
	for _, app := range apps {
		sendRouted(t, col.GRPC, app, perApp)
		for i := range perApp {
			if !dropped(app.env, i) {
				want[app.route]++
			}
		}
	}

	for route, srv := range servers {
		msgs := plumelogtest.Messages(t, waitForLen(t, srv.Client(), "plume_log_list", want[route]))
		require.Len(t, msgs, want[route], "route %s", route)
		seen := map[string]bool{}
		for _, m := range msgs {
			content := m["content"].(string)
			require.False(t, seen[content], "%q arrived twice", content)
			seen[content] = true
			var app routedApp
			for _, a := range apps {
				if a.service == m["appName"] {
					app = a
				}
			}
			require.Equal(t, route, app.route, "%s's log in route %s", m["appName"], route)
			i, err := strconv.Atoi(strings.Fields(content)[1])
			require.NoError(t, err)
			assert.False(t, dropped(app.env, i), "%s record %d should have been dropped", app.service, i)
			assert.Equal(t, routingSeverities[i%len(routingSeverities)].level, m["logLevel"])
			assert.Equal(t, fmt.Sprintf("%s %d login password=***&next=/cart", app.service, i), content)
			assert.Equal(t, "u"+strconv.Itoa(i), m["user_id"])
			for _, removed := range []string{"user.email", "user_email", "http.request.header.authorization", "http_request_header_authorization"} {
				assert.NotContains(t, m, removed)
			}
		}
	}
}
