package motia

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	pb "motia/internal/runnerpb"
)

// router matches CallReplies to the calls waiting for them (request ids are unique per stream).
type router struct {
	out     *outbox
	mu      sync.Mutex
	next    uint64
	pending map[uint64]chan *pb.CallReply
	closed  bool
}

func newRouter(out *outbox) *router {
	return &router{out: out, pending: map[uint64]chan *pb.CallReply{}}
}

func (r *router) resolve(reply *pb.CallReply) {
	r.mu.Lock()
	ch, ok := r.pending[reply.RequestId]
	delete(r.pending, reply.RequestId)
	r.mu.Unlock()
	if ok {
		ch <- reply // buffered: never blocks the reader
	}
}

// close fails every waiting call: the stream is gone and no reply will come.
func (r *router) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	for id, ch := range r.pending {
		close(ch)
		delete(r.pending, id)
	}
}

// caller makes one invocation's calls.
type caller struct {
	router       *router
	invocationID string
	ctx          context.Context // done when the core cancels the invocation
}

// send is a call that wants no reply (request_id 0): log lines.
func (c *caller) send(call *pb.Call) {
	call.InvocationId = c.invocationID
	c.router.out.put(&pb.RunnerMessage{Kind: &pb.RunnerMessage_Call{Call: call}})
}

// do makes a call and waits for its reply value.
func (c *caller) do(op string, call *pb.Call) (json.RawMessage, error) {
	if c.ctx.Err() != nil {
		return nil, fmt.Errorf("%s: %w", op, ErrCancelled)
	}
	r := c.router
	ch := make(chan *pb.CallReply, 1)
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, fmt.Errorf("%s: %w", op, ErrClosed)
	}
	r.next++
	id := r.next
	r.pending[id] = ch
	r.mu.Unlock()
	call.RequestId = id
	call.InvocationId = c.invocationID
	r.out.put(&pb.RunnerMessage{Kind: &pb.RunnerMessage_Call{Call: call}})
	select {
	case reply, ok := <-ch:
		if !ok {
			return nil, fmt.Errorf("%s: %w", op, ErrClosed)
		}
		if failure := reply.GetError(); failure != nil {
			code := pb.CallError_Code_name[int32(failure.Code)]
			return nil, &CallError{Op: op, Code: trimCode(code), Message: failure.Message}
		}
		return reply.GetValueJson(), nil
	case <-c.ctx.Done():
		r.mu.Lock()
		delete(r.pending, id)
		r.mu.Unlock()
		return nil, fmt.Errorf("%s: %w", op, ErrCancelled)
	}
}

func trimCode(name string) string {
	const prefix = "CODE_"
	if len(name) > len(prefix) && name[:len(prefix)] == prefix {
		return name[len(prefix):]
	}
	if name == "" {
		return "UNSPECIFIED"
	}
	return name
}
