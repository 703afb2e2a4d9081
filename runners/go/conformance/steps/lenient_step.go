// Conformance fixture 8: emits Motia drops. Go has no positional emit (the compiler rejects
// emit(topic, data) shapes other than the API's), so the positional case logs the same WARN line the
// SDKs log for that Motia 0.x mistake, as FIXTURES.md allows; the undeclared case is a real emit the
// kit answers as the core does, and the SDK logs the drop.
package steps

import (
	"runtime"
	"strings"

	"motia"
)

type lenientInput struct {
	Kind string `json:"kind"`
}

func init() {
	motia.EventOf(motia.EventConfig{
		Name:       "ConformanceLenient",
		Subscribes: []string{"conformance.lenient"},
		Emits:      motia.Topics("conformance.lenient.ok"),
		Flows:      []string{"conformance"},
	}, func(ctx *motia.Context, input lenientInput) error {
		if input.Kind == "positional" {
			_, file, line, _ := runtime.Caller(0)
			ctx.Logger.Warn("emit('conformance.lenient.ok', {n: 1}) passes positional arguments; dropped",
				"motia", "emit_dropped", "reason", "positional", "topic", "conformance.lenient.ok",
				"file", strings.TrimPrefix(file, "project/"), "line", line)
			return nil
		}
		return ctx.Emit("conformance.undeclared", map[string]int{"n": 2})
	})
}
