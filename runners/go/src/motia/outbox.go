package motia

import (
	"runtime"
	"sync"
	"sync/atomic"

	"google.golang.org/protobuf/proto"

	pb "motia/internal/runnerpb"
)

// outbox is the stream's only writer: a goroutine that sends everything queued since its last write
// as one RunnerFrame (the core pays per gRPC message, not per envelope; docs/protocol.md), split so
// that no frame exceeds the negotiated size. grpc-go also forbids concurrent Send calls.
//
// Unlike Node's event loop, nothing in Go marks "the end of a tick": the writer woke on the first
// result of a CoreFrame's batch and sent it alone, so the core read one frame per result (measured:
// 2,369 frames for 2,349 requests at wrk -c16) and paid its per-message cost for each. settle lets
// the handlers already runnable answer first; the same load then went out ~6 results per frame.
type outbox struct {
	queue    chan *pb.RunnerMessage
	stop     chan struct{}
	done     chan struct{}
	mu       sync.RWMutex // held for reading by put, for writing by close: nothing is queued after close
	closed   bool
	maxBytes atomic.Int64 // Welcome may lower it while the writer runs
	send     func(*pb.RunnerFrame) error
	err      error // the first send error; later envelopes are dropped
}

func newOutbox(send func(*pb.RunnerFrame) error, maxBytes int) *outbox {
	o := &outbox{
		queue: make(chan *pb.RunnerMessage, 8192),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
		send:  send,
	}
	o.maxBytes.Store(int64(maxBytes))
	return o
}

func (o *outbox) put(message *pb.RunnerMessage) {
	o.mu.RLock()
	defer o.mu.RUnlock()
	if !o.closed {
		o.queue <- message
	}
}

// closeAndFlush stops taking envelopes and waits until the queued ones are sent.
func (o *outbox) closeAndFlush() {
	o.mu.Lock()
	if !o.closed {
		o.closed = true
		close(o.stop)
	}
	o.mu.Unlock()
	<-o.done
}

func (o *outbox) run() {
	defer close(o.done)
	for {
		select {
		case first := <-o.queue:
			o.settle()
			o.write(first)
		case <-o.stop:
			for {
				select {
				case message := <-o.queue:
					o.write(message)
				default:
					return
				}
			}
		}
	}
}

// settleRounds bounds the yields per frame: a steady trickle of results must not starve the writer.
const settleRounds = 8

// settle yields to the goroutines that are runnable now (on GOMAXPROCS=1, the handlers the reader
// just started run before the writer is scheduled again) for as long as they keep adding envelopes.
// A lone result costs one Gosched, well under a microsecond.
func (o *outbox) settle() {
	for i := 0; i < settleRounds; i++ {
		queued := len(o.queue)
		runtime.Gosched()
		if len(o.queue) == queued {
			return
		}
	}
}

// write sends first and everything queued behind it, in frames of at most maxBytes.
func (o *outbox) write(first *pb.RunnerMessage) {
	frame := &pb.RunnerFrame{Messages: []*pb.RunnerMessage{first}}
	size := proto.Size(first) + 8
	for {
		select {
		case next := <-o.queue:
			n := proto.Size(next) + 8 // tag + length prefix, generously
			if int64(size+n) > o.maxBytes.Load() {
				o.flush(frame)
				frame, size = &pb.RunnerFrame{}, 0
			}
			frame.Messages = append(frame.Messages, next)
			size += n
			continue
		default:
		}
		break
	}
	o.flush(frame)
}

func (o *outbox) flush(frame *pb.RunnerFrame) {
	if len(frame.Messages) == 0 || o.err != nil {
		return
	}
	if err := o.send(frame); err != nil {
		o.err = err
	}
}
