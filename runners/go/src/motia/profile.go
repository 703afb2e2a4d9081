package motia

import (
	"os"
	"runtime/pprof"
	"strings"
)

// startCPUProfile writes a CPU profile of the whole run to $MOTIA_GO_CPUPROFILE, a debugging aid for
// the runner's cost per invocation (`go tool pprof <binary> <file>`). The returned stop writes the
// file; it runs when run() returns (a drain or a lost stream), not on kill -9 or a watchdog exit.
func startCPUProfile() (stop func()) {
	path := strings.TrimSpace(os.Getenv("MOTIA_GO_CPUPROFILE"))
	if path == "" {
		return func() {}
	}
	file, err := os.Create(path)
	if err != nil {
		logf("MOTIA_GO_CPUPROFILE: cannot create %s: %v (running without a profile)", path, err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(file); err != nil {
		logf("MOTIA_GO_CPUPROFILE: cannot start profiling: %v (running without a profile)", err)
		_ = file.Close()
		return func() {}
	}
	logf("writing a CPU profile to %s", path)
	return func() {
		pprof.StopCPUProfile()
		if err := file.Close(); err != nil {
			logf("MOTIA_GO_CPUPROFILE: writing %s failed: %v", path, err)
		}
	}
}
