package plumelogtest

import (
	"strconv"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// JavaLogs is one request of n records of an instrumented Java service, without timestamps,
// the records of the encoder's benchmark: a resource with six attributes, records with a
// ~100-byte message, five attributes and trace context.
//
// service varies the host, the process id and the trace and span ids, so that several
// senders send different records.
func JavaLogs(service, n int) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	ra := rl.Resource().Attributes()
	ra.PutStr("service.name", "order-svc")
	ra.PutStr("deployment.environment.name", "prod")
	ra.PutStr("host.name", "order-svc-7d9f8c6b5-x2k4p"+strconv.Itoa(service))
	ra.PutStr("service.version", "1.4.2")
	ra.PutStr("telemetry.sdk.language", "java")
	ra.PutInt("process.pid", int64(4242+service))
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("com.example.order.OrderService")
	for i := range n {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetSeverityNumber(plog.SeverityNumberInfo)
		lr.SetSeverityText("INFO")
		lr.Body().SetStr("Order " + strconv.Itoa(100000+i) + " created for customer c-5521: 3 items, total 129.90 EUR, payment pending (card)")
		lr.SetTraceID(pcommon.TraceID{0x6a, 0x1f, 0x0b, 0x8c, 0x3d, 0x2e, 0x4f, 0x50, 0x91, 0xa2, 0xb3, 0xc4, 0xd5, 0xe6, byte(service), byte(i)})
		lr.SetSpanID(pcommon.SpanID{0x9c, 0x1d, 0x2e, 0x3f, 0x4a, 0x5b, byte(service), byte(i)})
		la := lr.Attributes()
		la.PutStr("code.namespace", "com.example.order.OrderService")
		la.PutStr("code.function", "createOrder")
		la.PutStr("thread.name", "http-nio-8080-exec-"+strconv.Itoa(i%10))
		la.PutStr("http.route", "/api/v1/orders")
		la.PutStr("user.id", "c-5521")
	}
	return ld
}
