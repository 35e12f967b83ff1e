// Package plumelogtest is what the tests share about Plumelog: the OTLP log requests they send
// (Logs), and the wire contract they check what arrives in Redis against: what an unmodified
// Plumelog server reads from its list and writes to Elasticsearch.
package plumelogtest // import "github.com/plumelog-otel/otelcol-plumelog/internal/plumelogtest"

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
	"unicode/utf8"
)

// CoreKeys are the keys of a run-log message, as the wire contract lists them. An attribute
// named like one must never replace or repeat it.
var CoreKeys = []string{
	"appName", "env", "appNameWithEnv", "serverName", "dtTime", "seq", "dateTime", "logLevel",
	"content", "className", "method", "threadName", "traceId", "spanId", "logType",
}

// stringKeys are the core keys the server and its Elasticsearch index read as strings.
var stringKeys = []string{
	"appName", "env", "appNameWithEnv", "serverName", "dateTime", "logLevel",
	"content", "className", "method", "threadName",
}

// integerKeys are the core keys read as integers (dtTime as epoch milliseconds).
var integerKeys = []string{"dtTime", "seq"}

var levels = map[string]bool{"TRACE": true, "DEBUG": true, "INFO": true, "WARN": true, "ERROR": true}

// decodeLine decodes raw, a message as a Plumelog client pushes it: one line of valid UTF-8
// holding one JSON object. Numbers stay json.Number, to check their form.
func decodeLine(raw []byte) (map[string]any, error) {
	if !utf8.Valid(raw) {
		return nil, errors.New("not valid UTF-8")
	}
	if bytes.ContainsAny(raw, "\r\n") {
		return nil, errors.New("not a single line")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var msg map[string]any
	if err := dec.Decode(&msg); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	if dec.More() {
		return nil, errors.New("trailing data after the JSON object")
	}
	return msg, nil
}

// CheckRunLog reports how raw breaks the run-log contract, or returns the decoded message:
// one line of valid UTF-8 JSON, an object with every core key of the right JSON type, a
// non-empty appName, appNameWithEnv = appName + "-_-" + env, dateTime in Plumelog's format,
// a known logLevel, no repeated key, every other key a string, and keys that Elasticsearch
// accepts in one document (see IndexKeys).
func CheckRunLog(raw []byte) (map[string]any, error) {
	msg, err := decodeLine(raw)
	if err != nil {
		return nil, err
	}
	var errs []error
	if dup := duplicateKey(raw); dup != "" {
		// Elasticsearch rejects a document with a repeated key.
		errs = append(errs, fmt.Errorf("key %q appears twice", dup))
	}
	errs = append(errs, checkTypes(msg)...)
	errs = append(errs, checkValues(msg)...)
	var keys IndexKeys
	errs = append(errs, keys.Add(msg))
	return msg, errors.Join(errs...)
}

// checkTypes reports the keys whose JSON type is not the one the server reads.
func checkTypes(msg map[string]any) []error {
	var errs []error
	for _, k := range stringKeys {
		if _, ok := msg[k].(string); !ok {
			errs = append(errs, fmt.Errorf("%s must be a string, got %T", k, msg[k]))
		}
	}
	for _, k := range integerKeys {
		n, ok := msg[k].(json.Number)
		if !ok {
			errs = append(errs, fmt.Errorf("%s must be a number, got %T", k, msg[k]))
			continue
		}
		if v, err := n.Int64(); err != nil || v < 0 || v > math.MaxInt64/2 {
			errs = append(errs, fmt.Errorf("%s must be a non-negative integer, got %s", k, n))
		}
	}
	for k, v := range msg {
		if _, isString := v.(string); isString || slices.Contains(integerKeys, k) || slices.Contains(stringKeys, k) {
			continue
		}
		switch k {
		case "traceId", "spanId":
			errs = append(errs, fmt.Errorf("%s must be a string, got %T", k, v))
		case "logType":
		default:
			errs = append(errs, fmt.Errorf("extension field %q must be a string, got %T", k, v))
		}
	}
	return errs
}

// checkValues reports the values the server or its UI cannot use.
func checkValues(msg map[string]any) []error {
	var errs []error
	app, _ := msg["appName"].(string)
	env, _ := msg["env"].(string)
	if app == "" {
		errs = append(errs, errors.New("appName must not be empty"))
	}
	if got, _ := msg["appNameWithEnv"].(string); got != app+"-_-"+env {
		errs = append(errs, fmt.Errorf("appNameWithEnv %q is not appName-_-env", got))
	}
	if dt, ok := msg["dateTime"].(string); ok {
		if _, err := time.Parse("2006-01-02 15:04:05.000", dt); err != nil {
			errs = append(errs, fmt.Errorf("dateTime %q is not yyyy-MM-dd HH:mm:ss.SSS", dt))
		}
	}
	if lvl, _ := msg["logLevel"].(string); !levels[lvl] {
		errs = append(errs, fmt.Errorf("logLevel %q is not one of TRACE DEBUG INFO WARN ERROR", lvl))
	}
	return errs
}

// duplicateKey returns a top-level key of the JSON object raw that appears more than once,
// which decoding into a map would hide.
func duplicateKey(raw []byte) string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		return ""
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		k, _ := tok.(string)
		if seen[k] {
			return k
		}
		seen[k] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return ""
		}
	}
	return ""
}
