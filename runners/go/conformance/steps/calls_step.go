package steps

import (
	"encoding/json"

	"motia"
)

type callsInput struct {
	Key string `json:"key"`
	N   int    `json:"n"`
}

func init() {
	motia.EventOf(motia.EventConfig{
		Name:       "ConformanceCalls",
		Subscribes: []string{"conformance.calls"},
		Emits:      motia.Topics("conformance.done"),
		Flows:      []string{"conformance"},
	}, func(ctx *motia.Context, input callsInput) error {
		if err := ctx.State.Set("conf", input.Key, map[string]int{"n": input.N}); err != nil {
			return err
		}
		var got json.RawMessage
		if _, err := ctx.State.Get("conf", input.Key, &got); err != nil {
			return err
		}
		if err := ctx.State.Set("conf", input.Key+"-2", input.N); err != nil {
			return err
		}
		everything, err := ctx.State.GetGroup("conf")
		if err != nil {
			return err
		}
		if _, err := ctx.State.Delete("conf", input.Key+"-2"); err != nil {
			return err
		}
		ctx.Logger.Info("calls done", "n", input.N)
		done := map[string]any{"n": input.N, "got": got, "count": len(everything)}
		if err := ctx.Emit("conformance.done", done); err != nil {
			return err
		}
		return ctx.State.Clear("conf" + input.Key)
	})
}
