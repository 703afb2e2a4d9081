package motia

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

// waitParked waits until n workers are parked (a finished job parks its goroutine just after).
func waitParked(t *testing.T, w *workers, n int32) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for w.parked.Load() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d workers parked, want %d", w.parked.Load(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// Jobs run one after another reuse one goroutine instead of starting one each.
func TestWorkersReuseAParkedGoroutine(t *testing.T) {
	w := newWorkers()
	before := runtime.NumGoroutine()
	for i := 0; i < 100; i++ {
		done := make(chan struct{})
		w.do(func() { close(done) })
		<-done
		waitParked(t, w, 1)
	}
	// At most the one parked worker: a goroutine an earlier test left may end meanwhile, so the count
	// can also read one less (it did in a clean-clone run); the reuse itself is what waitParked(1) checks each time.
	if grown := runtime.NumGoroutine() - before; grown > 1 {
		t.Fatalf("100 sequential jobs left %d goroutines behind, want at most the 1 parked worker", grown)
	}
}

// A burst runs every job at once (do never waits for a worker) and leaves at most
// maxParkedWorkers goroutines parked afterwards.
func TestWorkersRunABurstConcurrentlyAndKeepABoundedPool(t *testing.T) {
	w := newWorkers()
	const burst = 3 * maxParkedWorkers
	var started, release sync.WaitGroup
	started.Add(burst)
	release.Add(1)
	for i := 0; i < burst; i++ {
		w.do(func() { started.Done(); release.Wait() })
	}
	started.Wait() // all running together: none waited for another to finish
	release.Done()
	waitParked(t, w, maxParkedWorkers)
	time.Sleep(20 * time.Millisecond)
	if parked := w.parked.Load(); parked != maxParkedWorkers {
		t.Fatalf("%d workers parked after the burst, want %d", parked, maxParkedWorkers)
	}
}
