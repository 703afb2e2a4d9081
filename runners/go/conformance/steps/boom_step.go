package steps

import (
	"encoding/json"
	"errors"

	"motia"
)

func init() {
	motia.Event(motia.EventConfig{
		Name:       "ConformanceBoom",
		Subscribes: []string{"conformance.boom"},
		Flows:      []string{"conformance"},
	}, func(ctx *motia.Context, input json.RawMessage) error {
		return errors.New("conformance boom")
	})
}
