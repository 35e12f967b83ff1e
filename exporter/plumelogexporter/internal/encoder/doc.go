// Package encoder turns pdata log records into Plumelog run-log JSON messages.
//
// Each message is one compact, single-line JSON object in the layout an unmodified Plumelog
// server reads from Redis (see plumelog-wire-contract.md): the core keys first, always with the
// same JSON types, then the remaining attributes that the field policy keeps as string-valued
// extension fields, under keys that cannot conflict in Elasticsearch's mapping (fields.go,
// policy.go), and those it folds as one text field. The output
// is valid UTF-8 JSON for any input, because the server copies it verbatim into an Elasticsearch
// bulk body and a single bad line loses the log.
//
// Encoding appends into buffers instead of building maps for encoding/json: the exporter encodes
// every record it receives, so this is the collector's hot path.
package encoder
