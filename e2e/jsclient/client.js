// Sends the spans of nested calls with the OpenTelemetry JavaScript SDK to the OTLP/gRPC
// endpoint given as the first argument, then prints every span it ended as JSON, for the
// end-to-end test to compare with what the trace view rebuilds.
const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node');
const { BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-grpc');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const api = require('@opentelemetry/api');

const [endpoint, requests] = [process.argv[2], Number(process.argv[3] || 20)];
const provider = new NodeTracerProvider({
  resource: resourceFromAttributes({ 'service.name': 'node-shop', 'deployment.environment.name': 'prod' }),
  spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: 'http://' + endpoint }))],
});
provider.register();
const tracer = api.trace.getTracer('shop');

const ended = [];
const nanos = (t) => (BigInt(t[0]) * 1000000000n + BigInt(t[1])).toString();
function call(name, inner) {
  tracer.startActiveSpan(name, (span) => {
    try {
      if (inner) inner();
    } finally {
      span.end();
      ended.push({
        name, traceId: span.spanContext().traceId, spanId: span.spanContext().spanId,
        parentSpanId: span.parentSpanContext ? span.parentSpanContext.spanId : '',
        start: nanos(span.startTime), end: nanos(span.endTime),
      });
    }
  });
}

for (let i = 0; i < requests; i++) {
  call('GET /cart/' + i, () => {
    call('auth', () => call('token.verify'));
    call('cart.load', () => {
      call('SELECT cart');
      call('SELECT items', () => call('decode', () => call('price')));
    });
    call('render');
  });
}
provider.shutdown().then(() => process.stdout.write(JSON.stringify(ended)));
