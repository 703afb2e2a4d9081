package motia

import (
	"sync"
	"sync/atomic"

	"google.golang.org/protobuf/proto"

	pb "motia/internal/runnerpb"
)

// outbox is the stream's only writer: a goroutine that sends everything queued since its last write
// as one RunnerFrame (the core pays per gRPC message, not per envelope; docs/protocol.md), split so
// that no frame exceeds the negotiated size. grpc-go also forbids concurrent Send calls.
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
