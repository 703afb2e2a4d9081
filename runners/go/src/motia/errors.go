package motia

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"
)

// NonRetryable marks err so that the event is not retried (it goes to the dead-letter queue at once).
func NonRetryable(err error) error {
	return &retryError{err: err, nonRetryable: true}
}

// RetryAfter asks for the event to be retried no sooner than after d.
func RetryAfter(d time.Duration, err error) error {
	return &retryError{err: err, after: d}
}

type retryError struct {
	err          error
	nonRetryable bool
	after        time.Duration
}

func (e *retryError) Error() string {
	if e.err == nil {
		return "handler failed"
	}
	return e.err.Error()
}

func (e *retryError) Unwrap() error { return e.err }

// NonRetryable reports the wish; any error with this method steers retries the same way.
func (e *retryError) NonRetryable() bool { return e.nonRetryable }

// RetryAfter reports the wish; any error with this method steers retries the same way.
func (e *retryError) RetryAfter() time.Duration { return e.after }

// retryHints reads the retry wishes anywhere in err's chain.
func retryHints(err error) (nonRetryable bool, afterMs uint64) {
	var nr interface{ NonRetryable() bool }
	if errors.As(err, &nr) && nr.NonRetryable() {
		nonRetryable = true
	}
	var ra interface{ RetryAfter() time.Duration }
	if errors.As(err, &ra) {
		if d := ra.RetryAfter(); d > 0 {
			afterMs = uint64((d + time.Millisecond - 1) / time.Millisecond) // a positive delay never rounds to 0
		}
	}
	return nonRetryable, afterMs
}

// errorType names an error for Failed.error_type: its ErrorType() if it has one, else the Go type of
// the innermost error under the retry wrappers (e.g. "errors.errorString", "strconv.NumError").
func errorType(err error) string {
	var named interface{ ErrorType() string }
	if errors.As(err, &named) {
		return named.ErrorType()
	}
	for {
		wrapped, ok := err.(*retryError)
		if !ok || wrapped.err == nil {
			break
		}
		err = wrapped.err
	}
	return strings.TrimPrefix(reflect.TypeOf(err).String(), "*")
}

// CallError is a call to the core (emit, state, streams) that the core answered with an error.
type CallError struct {
	Op      string // "emit", "state_get", ...
	Code    string // "INVALID_ARGUMENT", "REJECTED", "UNKNOWN_INVOCATION", "INTERNAL", "UNAVAILABLE"
	Message string
}

func (e *CallError) Error() string {
	return fmt.Sprintf("%s failed: %s: %s", e.Op, e.Code, e.Message)
}

// ErrCancelled is returned by calls made after the core cancelled the invocation (its handler timed
// out, the HTTP client went away, or the core is stopping). ctx.Err() says the same.
var ErrCancelled = errors.New("the invocation was cancelled by the core")

// ErrClosed is returned by calls made after the connection to the core ended.
var ErrClosed = errors.New("the connection to the core is closed")
