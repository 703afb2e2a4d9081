package steps

import "motia"

func init() {
	motia.API(motia.ApiConfig{
		Name:   "ConformanceEcho",
		Method: "POST",
		Path:   "/conformance/echo/:id",
		Emits:  motia.Topics("conformance.echoed"),
		Flows:  []string{"conformance"},
		BodySchema: motia.Schema{
			"type":       "object",
			"properties": motia.Schema{"text": motia.Schema{"type": "string"}},
			"required":   []string{"text"},
		},
	}, func(ctx *motia.Context, req *motia.ApiRequest) (*motia.ApiResponse, error) {
		var header any
		if values, ok := req.Headers["x-conformance"]; ok && len(values) > 0 {
			header = values[0]
		}
		return motia.JSON(200, map[string]any{
			"body":    req.Body,
			"id":      req.PathParams["id"],
			"query":   req.QueryParams,
			"header":  header,
			"traceId": ctx.TraceID,
			"flows":   ctx.Flows,
		}).WithHeader("x-echo", "1"), nil
	})
}
