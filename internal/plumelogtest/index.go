package plumelogtest

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// IndexKeys gathers the top-level keys of run-log messages as the dynamic mapping of
// Plumelog's shared daily Elasticsearch index (plume_log_run_<yyyyMMdd>) sees them: a key with
// dots is an object path ("error.type" makes "error" an object), and each path is mapped once
// for every document of the day. A key that is a value in one document and an object in
// another ("error" and "error.type") makes Elasticsearch reject the later document, which the
// Plumelog server does not report. The zero value is empty and ready to use.
type IndexKeys struct {
	leaves  map[string]bool // keys that hold a value
	objects map[string]bool // proper dotted prefixes of keys: object paths
}

// Add adds the keys of one decoded message and reports each key Elasticsearch refuses, and each
// that is a value where a message added before made it an object, or the other way round.
func (ix *IndexKeys) Add(msg map[string]any) error {
	if ix.leaves == nil {
		ix.leaves, ix.objects = map[string]bool{}, map[string]bool{}
	}
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(msg)) {
		if why := refusedKey(k); why != "" {
			errs = append(errs, fmt.Errorf("key %q: %s", k, why))
			continue
		}
		if ix.objects[k] {
			errs = append(errs, fmt.Errorf("key %q holds a value, but another key made it an object", k))
		}
		for i := strings.IndexByte(k, '.'); i >= 0; i = next(k, i) {
			if ix.leaves[k[:i]] {
				errs = append(errs, fmt.Errorf("key %q makes %q an object, but another key gave it a value", k, k[:i]))
			}
		}
		ix.leaves[k] = true
		for i := strings.IndexByte(k, '.'); i >= 0; i = next(k, i) {
			ix.objects[k[:i]] = true
		}
	}
	return errors.Join(errs...)
}

// next returns the index of the first '.' in k after i, or -1.
func next(k string, i int) int {
	j := strings.IndexByte(k[i+1:], '.')
	if j < 0 {
		return -1
	}
	return i + 1 + j
}

// Keys returns every key added, in order.
func (ix *IndexKeys) Keys() []string {
	return slices.Sorted(maps.Keys(ix.leaves))
}

// refusedKey says why Elasticsearch refuses k as a field name of a document, or returns "":
// a name or object path segment that is empty or blank ("", " ", ".a", "a..b", "a."), and
// names starting with '_', which are its metadata fields ("_id", "_source"...).
func refusedKey(k string) string {
	if strings.HasPrefix(k, "_") {
		return "starts with '_', reserved for Elasticsearch's metadata fields"
	}
	for seg := range strings.SplitSeq(k, ".") {
		if strings.TrimSpace(seg) == "" {
			return "an empty or blank name or object path segment"
		}
	}
	return ""
}

// ExtensionKeys returns the keys of a decoded run-log message that are not core keys of the
// contract, in order.
func ExtensionKeys(msg map[string]any) []string {
	var keys []string
	for k := range msg {
		if !slices.Contains(CoreKeys, k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}
