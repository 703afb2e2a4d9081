package motia

import (
	"reflect"
	"runtime"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	pb "motia/internal/runnerpb"
)

func logMessage(text string) *pb.RunnerMessage {
	return &pb.RunnerMessage{Kind: &pb.RunnerMessage_Call{Call: &pb.Call{Op: &pb.Call_Log{Log: &pb.Log{Message: text}}}}}
}

// Everything queued while the writer is busy goes out in one frame, in order.
func TestOutboxBatchesWhatIsQueuedIntoOneFrame(t *testing.T) {
	release := make(chan struct{})
	var frames [][]string
	send := func(frame *pb.RunnerFrame) error {
		if len(frames) == 0 {
			<-release // hold the first write so that the rest queue up behind it
		}
		var texts []string
		for _, m := range frame.Messages {
			texts = append(texts, m.GetCall().GetLog().Message)
		}
		frames = append(frames, texts)
		return nil
	}
	o := newOutbox(send, 1<<20)
	go o.run()
	want := []string{"first"}
	o.put(logMessage("first"))
	for i := 0; i < 50; i++ {
		text := strings.Repeat("q", i+1)
		want = append(want, text)
		o.put(logMessage(text))
	}
	close(release)
	o.closeAndFlush()
	var got []string
	for _, f := range frames {
		got = append(got, f...)
	}
	// the writer may have taken some before the first send blocked; the rest waited for one frame
	if !reflect.DeepEqual(got, want) || len(frames) > 2 {
		t.Fatalf("51 envelopes went out in %d frames: %v", len(frames), got)
	}
}

// A batch larger than the frame limit is split; no frame exceeds it and nothing is lost or reordered.
func TestOutboxSplitsFramesAtTheSizeLimit(t *testing.T) {
	const limit = 10_000
	var frames []*pb.RunnerFrame
	hold := make(chan struct{})
	send := func(frame *pb.RunnerFrame) error {
		if len(frames) == 0 {
			<-hold
		}
		frames = append(frames, frame)
		return nil
	}
	o := newOutbox(send, limit)
	go o.run()
	o.put(logMessage("start"))
	for i := 0; i < 40; i++ {
		o.put(logMessage(strings.Repeat(string(rune('a'+i%26)), 1000)))
	}
	close(hold)
	o.closeAndFlush()
	seen := 0
	for _, f := range frames {
		if size := proto.Size(f); size > limit {
			t.Fatalf("a frame of %d bytes exceeds the %d limit", size, limit)
		}
		for _, m := range f.Messages {
			if seen > 0 && m.GetCall().GetLog().Message[0] != byte('a'+(seen-1)%26) {
				t.Fatalf("envelope %d out of order", seen)
			}
			seen++
		}
	}
	if seen != 41 || len(frames) < 5 {
		t.Fatalf("%d envelopes in %d frames", seen, len(frames))
	}
}

// Nothing queued after close is sent, and put never blocks or panics then.
func TestOutboxDropsEnvelopesAfterClose(t *testing.T) {
	sent := 0
	o := newOutbox(func(f *pb.RunnerFrame) error { sent += len(f.Messages); return nil }, 1<<20)
	go o.run()
	o.put(logMessage("before"))
	o.closeAndFlush()
	o.put(logMessage("after"))
	if sent != 1 {
		t.Fatalf("sent %d envelopes, want 1", sent)
	}
}

// The handlers a CoreFrame started answer in one frame, not one frame each: the writer wakes on the
// first answer, then yields to the handlers already runnable before sending (settle). With one P, as
// under the bench's taskset, the 20 answers go out in at most two frames; without settle, in 20.
func TestOutboxSettleBatchesAnswersOfRunnableHandlers(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	sizes := make(chan int, 64)
	o := newOutbox(func(f *pb.RunnerFrame) error { sizes <- len(f.Messages); return nil }, 1<<20)
	go o.run()
	const handlers = 20
	for i := 0; i < handlers; i++ {
		go o.put(logMessage("answer"))
	}
	frames, total := 0, 0
	for total < handlers {
		total += <-sizes
		frames++
	}
	o.closeAndFlush()
	if total != handlers || frames > 2 {
		t.Fatalf("%d answers went out in %d frames; want them in at most 2", total, frames)
	}
}
