package envelope

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/encoder"
)

var templates = []string{
	"Order %d created for customer c-%d: 3 items, total 129.90 EUR, payment pending (card)",
	"GET /api/v1/orders/%d completed with 200 in %d ms",
	"Cache miss for product p-%d, loaded from database in %d ms",
	"Payment %d authorized by provider, reference %d",
	"User u-%d logged in from 10.0.%d.17",
	"订单 %d 已创建，客户 c-%d，金额 129.90 元",
	"Retrying call to inventory-service (attempt %d of %d)",
	"Scheduled job cleanup-expired-carts removed %d carts in %d ms",
}

const stacktrace = `java.lang.IllegalStateException: inventory-service returned 503
	at com.example.order.InventoryClient.reserve(InventoryClient.java:88)
	at com.example.order.OrderService.createOrder(OrderService.java:142)
	at com.example.order.OrderController.create(OrderController.java:57)
	at java.base/jdk.internal.reflect.DirectMethodHandleAccessor.invoke(DirectMethodHandleAccessor.java:103)
	at java.base/java.lang.reflect.Method.invoke(Method.java:580)
	at org.springframework.web.method.support.InvocableHandlerMethod.doInvoke(InvocableHandlerMethod.java:255)
	at org.springframework.web.servlet.DispatcherServlet.doDispatch(DispatcherServlet.java:1089)
	at org.apache.tomcat.util.threads.ThreadPoolExecutor$Worker.run(ThreadPoolExecutor.java:659)
	at java.base/java.lang.Thread.run(Thread.java:1583)`

// benchMessages is a realistic stream from an instrumented Java service: eight message
// templates with varying numbers, random trace ids, one error with a stack trace in twenty.
func benchMessages(n int) [][]byte {
	rng := rand.New(rand.NewPCG(5, 6))
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	ra := rl.Resource().Attributes()
	ra.PutStr("service.name", "order-svc")
	ra.PutStr("deployment.environment.name", "prod")
	ra.PutStr("host.name", "order-svc-7d9f8c6b5-x2k4p")
	ra.PutStr("service.version", "1.4.2")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("com.example.order.OrderService")
	base := time.Date(2024, 6, 20, 8, 50, 45, 0, time.UTC)
	for i := range n {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(base.Add(time.Duration(i) * 3170 * time.Microsecond)))
		body := templates[rng.IntN(len(templates))]
		body = strings.Replace(body, "%d", strconv.Itoa(rng.IntN(1_000_000)), 1)
		body = strings.Replace(body, "%d", strconv.Itoa(rng.IntN(1000)), 1)
		lr.Body().SetStr(body)
		lr.SetSeverityNumber(plog.SeverityNumberInfo)
		if i%20 == 19 {
			lr.SetSeverityNumber(plog.SeverityNumberError)
			lr.Attributes().PutStr("exception.stacktrace", stacktrace)
		}
		var tid pcommon.TraceID
		var sid pcommon.SpanID
		for j := range tid {
			tid[j] = byte(rng.UintN(256))
		}
		for j := range sid {
			sid[j] = byte(rng.UintN(256))
		}
		lr.SetTraceID(tid)
		lr.SetSpanID(sid)
		la := lr.Attributes()
		la.PutStr("code.namespace", "com.example.order.OrderService")
		la.PutStr("code.function", "createOrder")
		la.PutStr("thread.name", "http-nio-8080-exec-"+strconv.Itoa(rng.IntN(200)))
		la.PutStr("http.route", "/api/v1/orders")
	}
	return encoder.New(encoder.Config{AppName: "order-svc", ServerName: "10.0.0.12", Location: time.UTC}).EncodeLogs(ld)
}

// BenchmarkPack measures what the compressed queue costs and saves per batch: CPU per
// record, and the ratio of the bytes the plain queue would hold (one element per message)
// to the bytes the envelopes hold.
func BenchmarkPack(b *testing.B) {
	for _, records := range []int{1, 100, 1000} {
		b.Run("records="+strconv.Itoa(records), func(b *testing.B) {
			msgs := benchMessages(records)
			plain := 0
			for _, m := range msgs {
				plain += len(m)
			}
			p := NewPacker(512 << 10)
			stored := 0
			b.ReportAllocs()
			for b.Loop() {
				stored = 0
				for _, env := range p.Pack(msgs) {
					stored += len(env)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*records), "ns/record")
			b.ReportMetric(float64(plain)/float64(stored), "plain/stored")
			b.ReportMetric(float64(plain)/float64(records), "plain-B/record")
			b.ReportMetric(float64(stored)/float64(records), "stored-B/record")
		})
	}
}
