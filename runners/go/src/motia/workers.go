package motia

import "sync/atomic"

// maxParkedWorkers bounds the idle handler goroutines kept for reuse: past it, a goroutine whose
// handler returned exits, so a burst leaves at most this many behind (a few KiB of stack each).
const maxParkedWorkers = 64

// workers runs each invocation on a goroutine that already ran one. A new goroutine starts with a
// 2 KiB stack, and decoding a request with encoding/json grows it several times: copying stacks
// (runtime.newstack/copystack) took ~15 % of the runner's CPU per API request under load. A
// parked worker keeps its grown stack (until a GC finds it mostly unused and halves it).
type workers struct {
	jobs   chan func() // unbuffered: a send succeeds only when a worker is parked on it
	parked atomic.Int32
}

func newWorkers() *workers {
	return &workers{jobs: make(chan func())}
}

// do runs job on a parked worker, or on a new goroutine when none is parked: never waits.
func (w *workers) do(job func()) {
	select {
	case w.jobs <- job:
	default:
		go w.work(job)
	}
}

func (w *workers) work(job func()) {
	for {
		job()
		if w.parked.Add(1) > maxParkedWorkers {
			w.parked.Add(-1)
			return
		}
		job = <-w.jobs
		w.parked.Add(-1)
	}
}
