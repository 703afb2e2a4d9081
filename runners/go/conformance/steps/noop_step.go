package steps

import "motia"

func init() {
	motia.Noop(motia.NoopConfig{
		Name:              "ConformanceNoop",
		VirtualEmits:      motia.Topics("conformance.calls"),
		VirtualSubscribes: []string{},
		Flows:             []string{"conformance"},
	})
}
