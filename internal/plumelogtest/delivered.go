package plumelogtest

import (
	"strconv"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/plumelog-otel/otelcol-plumelog/internal/redistest"
)

// Messages checks every element against the run-log contract and returns the decoded
// messages, in order.
func Messages(t testing.TB, elements []string) []map[string]any {
	t.Helper()
	msgs := make([]map[string]any, len(elements))
	for i, e := range elements {
		msg, err := CheckRunLog([]byte(e))
		if err != nil {
			t.Fatalf("element %d breaks the contract: %v\n%s", i, err, e)
		}
		msgs[i] = msg
	}
	return msgs
}

// ID returns the record id a message carries in its "id" field, as Logs and the collector
// harness's client number them.
func ID(t testing.TB, msg map[string]any) int {
	t.Helper()
	s, _ := msg["id"].(string)
	id, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("message without a record id: %v", msg)
	}
	return id
}

// Delivered reads the whole list key and returns CountIDs of its elements.
func Delivered(t testing.TB, rdb redis.Cmdable, key string) map[int]int {
	t.Helper()
	return CountIDs(t, redistest.List(t, rdb, key))
}

// CountIDs checks every element against the contract and returns how often each record id
// arrived.
func CountIDs(t testing.TB, elements []string) map[int]int {
	t.Helper()
	counts := map[int]int{}
	for _, msg := range Messages(t, elements) {
		counts[ID(t, msg)]++
	}
	return counts
}

// Duplicates is the number of arrivals beyond the first of each id in counts.
func Duplicates(counts map[int]int) int {
	n := 0
	for _, c := range counts {
		n += c - 1
	}
	return n
}
