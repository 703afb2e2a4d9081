package motia

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	pb "motia/internal/runnerpb"
)

// failure is an outcome other than a handler error (bad payload, unknown step, bad result).
type failure struct {
	kind      pb.FailureKind
	errorType string
	message   string
}

func (f *failure) Error() string { return f.message }

// running is one invocation in flight.
type running struct {
	id         string
	token      uint64
	cancel     context.CancelFunc
	cancelling bool // the core sent Cancel: answer Cancelled once the handler returned, never a result
}

// invocations runs each StartInvocation on its own goroutine (a reused one: workers.go) and answers
// it with exactly one InvocationResult (or Cancelled). The reader never waits for a handler.
type invocations struct {
	out          *outbox
	router       *router
	steps        func(string) *step
	mu           sync.Mutex
	running      map[string]*running
	accepting    bool
	maxPayload   int
	idle         chan struct{} // closed while nothing runs
	stopHandlers context.CancelFunc
	base         context.Context
	workers      *workers
}

func newInvocations(out *outbox, r *router, steps func(string) *step, maxPayload int) *invocations {
	base, stop := context.WithCancel(context.Background())
	idle := make(chan struct{})
	close(idle)
	return &invocations{out: out, router: r, steps: steps, running: map[string]*running{}, accepting: true,
		maxPayload: maxPayload, idle: idle, base: base, stopHandlers: stop, workers: newWorkers()}
}

func (iv *invocations) start(start *pb.StartInvocation) {
	iv.mu.Lock()
	if !iv.accepting {
		iv.mu.Unlock()
		iv.sendFailed(start, &failure{pb.FailureKind_FAILURE_KIND_SHUTTING_DOWN, "ShuttingDown", "the runner is shutting down"})
		return
	}
	s := iv.steps(start.StepId)
	if s == nil {
		iv.mu.Unlock()
		message := fmt.Sprintf("step %q is not loaded in this runner", start.StepId)
		iv.sendFailed(start, &failure{pb.FailureKind_FAILURE_KIND_UNKNOWN_STEP, "UnknownStep", message})
		return
	}
	ctx, cancel := context.WithCancel(iv.base)
	run := &running{id: start.InvocationId, token: start.FencingToken, cancel: cancel}
	if len(iv.running) == 0 {
		iv.idle = make(chan struct{})
	}
	iv.running[run.id] = run
	iv.mu.Unlock()
	iv.workers.do(func() { iv.run(ctx, start, s, run) })
}

// cancel stops one invocation: its context is done, so waiting calls return ErrCancelled at once.
func (iv *invocations) cancel(c *pb.Cancel) {
	iv.mu.Lock()
	run := iv.running[c.InvocationId]
	if run == nil {
		iv.mu.Unlock()
		iv.sendCancelled(c.InvocationId, 0) // already finished (or never known)
		return
	}
	already := run.cancelling
	run.cancelling = true
	iv.mu.Unlock()
	if !already {
		run.cancel()
	}
}

// stopAccepting makes every later StartInvocation fail SHUTTING_DOWN.
func (iv *invocations) stopAccepting() {
	iv.mu.Lock()
	iv.accepting = false
	iv.mu.Unlock()
}

// drain stops taking work and waits up to timeout (0: forever) for what is in flight; it returns
// how many invocations are still running.
func (iv *invocations) drain(timeout time.Duration) int {
	iv.mu.Lock()
	iv.accepting = false
	idle := iv.idle
	iv.mu.Unlock()
	if timeout > 0 {
		select {
		case <-idle:
		case <-time.After(timeout):
		}
	} else {
		<-idle
	}
	iv.mu.Lock()
	defer iv.mu.Unlock()
	return len(iv.running)
}

// stopAll cancels every handler's context: the stream is ending and nobody will read their results.
func (iv *invocations) stopAll() { iv.stopHandlers() }

func (iv *invocations) run(ctx context.Context, start *pb.StartInvocation, s *step, run *running) {
	message := &pb.RunnerMessage{}
	result := &pb.InvocationResult{InvocationId: start.InvocationId, FencingToken: start.FencingToken}
	message.Kind = &pb.RunnerMessage_Result{Result: result}
	completed, err := iv.execute(ctx, start, s)
	switch e := err.(type) {
	case nil:
		if completed == nil {
			completed = &pb.Completed{} // the handler returned nothing
		}
		result.Outcome = &pb.InvocationResult_Completed{Completed: completed}
	case *failure:
		result.Outcome = &pb.InvocationResult_Failed{Failed: &pb.Failed{Kind: e.kind, ErrorType: e.errorType, Message: e.message}}
	case *panicError:
		result.Outcome = &pb.InvocationResult_Failed{Failed: &pb.Failed{
			Kind: pb.FailureKind_FAILURE_KIND_HANDLER_ERROR, ErrorType: "panic", Message: e.Error(), Stack: e.stack}}
	default:
		nonRetryable, after := retryHints(err)
		stack := fmt.Sprintf("%s: %s\n    returned by the handler of %s at %s", errorType(err), err.Error(), s.name, s.site)
		result.Outcome = &pb.InvocationResult_Failed{Failed: &pb.Failed{
			Kind: pb.FailureKind_FAILURE_KIND_HANDLER_ERROR, ErrorType: errorType(err), Message: err.Error(),
			Stack: stack, NonRetryable: nonRetryable, RetryAfterMs: after}}
	}
	iv.mu.Lock()
	cancelling := run.cancelling
	iv.mu.Unlock()
	run.cancel()
	// The answer is queued before the invocation counts as finished: a drain waiting for idle
	// closes the outbox next, and an answer put after that would be lost.
	if cancelling {
		iv.sendCancelled(run.id, run.token)
	} else {
		iv.out.put(message)
	}
	iv.mu.Lock()
	delete(iv.running, run.id)
	if len(iv.running) == 0 {
		close(iv.idle)
	}
	iv.mu.Unlock()
}

type panicError struct {
	value any
	stack string
}

func (p *panicError) Error() string { return fmt.Sprintf("the handler panicked: %v", p.value) }

// execute runs the handler; a panic becomes a HANDLER_ERROR with the goroutine's stack.
func (iv *invocations) execute(ctx context.Context, start *pb.StartInvocation, s *step) (completed *pb.Completed, err error) {
	defer func() {
		if value := recover(); value != nil {
			completed, err = nil, &panicError{value: value, stack: string(debug.Stack())}
		}
	}()
	calls := &caller{router: iv.router, invocationID: start.InvocationId, ctx: ctx}
	c := &Context{Context: ctx, TraceID: start.TraceId, Flows: start.Flows, Attempt: int(start.Attempt),
		Topic: start.Topic, Logger: &Logger{calls}, State: &State{calls}, calls: calls}
	if c.Flows == nil {
		c.Flows = []string{}
	}
	raw := start.PayloadJson
	switch start.Trigger {
	case pb.Trigger_TRIGGER_API:
		if s.api == nil {
			return nil, noHandler(s, "an API handler")
		}
		req := &ApiRequest{}
		if err := json.Unmarshal(raw, req); err != nil {
			return nil, &failure{pb.FailureKind_FAILURE_KIND_BAD_PAYLOAD, "BadPayload", "an API payload must be a JSON object: " + err.Error()}
		}
		if err := req.addBody(start.HttpBody); err != nil {
			return nil, err
		}
		response, err := s.api(c, req)
		if err != nil {
			return nil, err
		}
		if response == nil {
			return nil, nil
		}
		if start.HttpBody != nil {
			if http, err := iv.encodeHTTP(response); http != nil || err != nil {
				return &pb.Completed{HttpResponse: http}, err
			}
		}
		return wrap(iv.encodeResult(response))
	case pb.Trigger_TRIGGER_EVENT:
		if s.event == nil {
			return nil, noHandler(s, "an event handler")
		}
		if len(raw) > 0 && !json.Valid(raw) {
			return nil, &failure{pb.FailureKind_FAILURE_KIND_BAD_PAYLOAD, "BadPayload", "payload_json is not JSON"}
		}
		return nil, s.event(c, json.RawMessage(raw))
	case pb.Trigger_TRIGGER_CRON:
		if s.cron == nil {
			return nil, noHandler(s, "a cron handler")
		}
		return nil, s.cron(c)
	case pb.Trigger_TRIGGER_STREAM_ACCESS:
		return wrap(iv.canAccess(s, raw))
	case pb.Trigger_TRIGGER_STREAM_AUTH:
		if s.streamAuth == nil {
			return nil, noHandler(s, "a stream auth handler")
		}
		req := &StreamAuthRequest{}
		if err := json.Unmarshal(raw, req); err != nil {
			return nil, &failure{pb.FailureKind_FAILURE_KIND_BAD_PAYLOAD, "BadPayload", "a stream auth payload must be a JSON object: " + err.Error()}
		}
		value, err := s.streamAuth(c, req)
		if err != nil || value == nil {
			return nil, err
		}
		return wrap(iv.encodeResult(value))
	}
	return nil, &failure{pb.FailureKind_FAILURE_KIND_BAD_PAYLOAD, "BadTrigger", fmt.Sprintf("unknown trigger %d", start.Trigger)}
}

func (iv *invocations) canAccess(s *step, raw []byte) ([]byte, error) {
	if s.canAccess == nil {
		return nil, noHandler(s, "a CanAccess function")
	}
	var payload struct {
		Subscription Subscription    `json:"subscription"`
		AuthContext  json.RawMessage `json:"authContext"`
	}
	if err := json.Unmarshal(raw, &payload); err != nil {
		return nil, &failure{pb.FailureKind_FAILURE_KIND_BAD_PAYLOAD, "BadPayload", "a stream access payload must be a JSON object: " + err.Error()}
	}
	allowed, err := s.canAccess(payload.Subscription, payload.AuthContext)
	if err != nil {
		return nil, err
	}
	if allowed {
		return []byte("true"), nil
	}
	return []byte("false"), nil
}

// wrap is an encoded payload_json as a Completed.
func wrap(payload []byte, err error) (*pb.Completed, error) {
	if err != nil {
		return nil, err
	}
	return &pb.Completed{PayloadJson: payload}, nil
}

func noHandler(s *step, what string) error {
	return &failure{pb.FailureKind_FAILURE_KIND_HANDLER_ERROR, "NoHandler", fmt.Sprintf("%s registers no %s", s.file, what)}
}

func (iv *invocations) encodeResult(value any) ([]byte, error) {
	data, err := json.Marshal(value)
	if err != nil {
		return nil, &failure{pb.FailureKind_FAILURE_KIND_BAD_RESULT, "NotJsonError", "the handler returned a value that is not JSON: " + err.Error()}
	}
	if len(data) > iv.maxPayload {
		message := fmt.Sprintf("the handler returned %d bytes of JSON, above the %d allowed", len(data), iv.maxPayload)
		return nil, &failure{pb.FailureKind_FAILURE_KIND_BAD_RESULT, "ResultTooLarge", message}
	}
	return data, nil
}

func (iv *invocations) sendFailed(start *pb.StartInvocation, f *failure) {
	result := &pb.InvocationResult{InvocationId: start.InvocationId, FencingToken: start.FencingToken,
		Outcome: &pb.InvocationResult_Failed{Failed: &pb.Failed{Kind: f.kind, ErrorType: f.errorType, Message: f.message}}}
	iv.out.put(&pb.RunnerMessage{Kind: &pb.RunnerMessage_Result{Result: result}})
}

func (iv *invocations) sendCancelled(id string, token uint64) {
	iv.out.put(&pb.RunnerMessage{Kind: &pb.RunnerMessage_Cancelled{Cancelled: &pb.Cancelled{InvocationId: id, FencingToken: token}}})
}
