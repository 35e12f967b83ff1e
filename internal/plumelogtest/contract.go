// Package plumelogtest checks messages against the Plumelog wire contract: what an unmodified
// Plumelog server reads from its Redis list and writes to Elasticsearch.
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

// stringKeys are the core keys the server and its Elasticsearch index read as strings.
var stringKeys = []string{
	"appName", "env", "appNameWithEnv", "serverName", "dateTime", "logLevel",
	"content", "className", "method", "threadName",
}

// integerKeys are the core keys read as integers (dtTime as epoch milliseconds).
var integerKeys = []string{"dtTime", "seq"}

var levels = map[string]bool{"TRACE": true, "DEBUG": true, "INFO": true, "WARN": true, "ERROR": true}

// CheckRunLog reports how raw breaks the run-log contract, or returns the decoded message:
// one line of valid UTF-8 JSON, an object with every core key of the right JSON type, a
// non-empty appName, appNameWithEnv = appName + "-_-" + env, dateTime in Plumelog's format,
// a known logLevel, no repeated key, every other key a string, and keys that Elasticsearch
// accepts in one document (see IndexKeys).
func CheckRunLog(raw []byte) (map[string]any, error) {
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
	var errs []error
	if dup := duplicateKey(raw); dup != "" {
		// Elasticsearch rejects a document with a repeated key.
		errs = append(errs, fmt.Errorf("key %q appears twice", dup))
	}
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
	for _, k := range []string{"traceId", "spanId"} {
		if v, ok := msg[k]; ok {
			if _, isString := v.(string); !isString {
				errs = append(errs, fmt.Errorf("%s must be a string, got %T", k, v))
			}
		}
	}
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
	return msg, errors.Join(append(errs, checkExtensions(msg))...)
}

// checkExtensions reports extension fields that are not strings, and keys that Elasticsearch
// refuses or that conflict within the message.
func checkExtensions(msg map[string]any) error {
	var keys IndexKeys
	errs := []error{keys.Add(msg)}
	for k, v := range msg {
		if isCore(k) {
			continue
		}
		if _, ok := v.(string); !ok {
			errs = append(errs, fmt.Errorf("extension field %q must be a string, got %T", k, v))
		}
	}
	return errors.Join(errs...)
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

func isCore(k string) bool {
	return slices.Contains(stringKeys, k) || slices.Contains(integerKeys, k) ||
		k == "traceId" || k == "spanId" || k == "logType"
}
