package steps

import "motia"

func init() {
	motia.Cron(motia.CronConfig{
		Name:  "ConformanceTick",
		Cron:  "* * * * *",
		Emits: motia.Topics("conformance.tick"),
		Flows: []string{"conformance"},
	}, func(ctx *motia.Context) error {
		return ctx.Emit("conformance.tick", map[string]string{"traceId": ctx.TraceID})
	})
}
