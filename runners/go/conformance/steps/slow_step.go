package steps

import (
	"time"

	"motia"
)

type slowInput struct {
	Ms int `json:"ms"`
	N  int `json:"n"`
}

func init() {
	motia.EventOf(motia.EventConfig{
		Name:       "ConformanceSlow",
		Subscribes: []string{"conformance.slow"},
		Flows:      []string{"conformance"},
	}, func(ctx *motia.Context, input slowInput) error {
		select {
		case <-time.After(time.Duration(input.Ms) * time.Millisecond):
		case <-ctx.Done(): // cancelled by the core: stop at once
			return ctx.Err()
		}
		ctx.Logger.Info("slow done", "n", input.N)
		return nil
	})
}
