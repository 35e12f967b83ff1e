// Package encoder turns pdata log records into Plumelog run-log JSON messages, and spans into
// Plumelog trace events.
//
// Each message is one compact, single-line JSON object in the layout an unmodified Plumelog
// server reads from Redis (docs/plumelog-wire-contract.md at the repository root): the core
// keys first, always with the same JSON types, then, for run logs, the remaining attributes
// that the field policy keeps as string-valued extension fields, under keys that cannot
// conflict in Elasticsearch's mapping (fields.go, policy.go), and those it folds as one text
// field. The output is valid UTF-8 JSON for any input, because the server copies it verbatim
// into an Elasticsearch bulk body and a single bad line loses the log. Trace events order
// themselves for Plumelog's trace view (traces.go, traceorder.go).
//
// Encoding appends into buffers instead of building maps for encoding/json: the exporter encodes
// every record it receives, so this is the collector's hot path.
package encoder
