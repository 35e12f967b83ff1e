// Package confcheck words configuration errors the way the collector reports them: each error
// names the key a user wrote, including the path of the block it sits in.
//
// The exporter's flat keys are grouped into Go structs per concern and squashed into one
// level of YAML. The collector prefixes a Validate error with the Go field it found it in,
// which for a squashed group is a key no user wrote; so the groups and their nested blocks
// check themselves with Check methods, and Within adds the path of each nested block.
package confcheck // import "github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/confcheck"

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// keyError is a problem with the value of one key.
type keyError struct {
	path string // "block::key"
	msg  string
}

func (e *keyError) Error() string { return strconv.Quote(e.path) + " " + e.msg }

// Errorf reports a problem with key: `"key" <message>`.
func Errorf(key, format string, args ...any) error {
	return &keyError{path: key, msg: fmt.Sprintf(format, args...)}
}

// Within puts the keys of err, which a nested block reported, under the block's key.
func Within(block string, err error) error {
	if err == nil {
		return nil
	}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		errs := joined.Unwrap()
		out := make([]error, len(errs))
		for i, e := range errs {
			out[i] = Within(block, e)
		}
		return errors.Join(out...)
	}
	var ke *keyError
	if errors.As(err, &ke) {
		return &keyError{path: block + "::" + ke.path, msg: ke.msg}
	}
	return fmt.Errorf("%q: %w", block, err)
}

// bareNumber bounds the durations taken for a number written without a unit: the numbers
// people type for timeouts and intervals (5, 100, 2000) read as a few microseconds at most.
const bareNumber = 10 * time.Microsecond

// Duration checks a duration key against the least value that makes sense for its role.
// zeroOK allows 0, which some keys read as "off". A value below the floor is nearly always a
// number written without a unit, which the collector reads as nanoseconds; the error says so
// and suggests the number with unit, the unit a user most likely meant for this key.
func Duration(key string, d, floor time.Duration, zeroOK bool, unit string) error {
	switch {
	case d == 0 && zeroOK:
		return nil
	case d < 0:
		return Errorf(key, "must not be negative, got %s", d)
	case d == 0:
		return Errorf(key, "must be at least %s, got 0s", floor)
	case d < floor && d < bareNumber:
		return Errorf(key, "is %s; durations need a unit, e.g. %d%s", d, int64(d), unit)
	case d < floor:
		return Errorf(key, "must be at least %s, got %s", floor, d)
	}
	return nil
}
