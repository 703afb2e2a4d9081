// API no-op in Go (copied into the bench project only when Go and the go runner package are installed).
package api

import "motia"

func init() {
	motia.API(motia.ApiConfig{Name: "NoopGo", Method: "GET", Path: "/noop/go", Flows: []string{"bench"}},
		func(ctx *motia.Context, req *motia.ApiRequest) (*motia.ApiResponse, error) {
			return motia.JSON(200, map[string]bool{"ok": true}), nil
		})
}
