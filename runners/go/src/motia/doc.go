// Package motia is the step API for Go steps served by motia-core, and the Go runner that runs them.
//
// A step file (steps/hello_step.go, any package name) registers its config and handler from init():
//
//	func init() {
//		motia.API(motia.ApiConfig{Name: "Hello", Method: "GET", Path: "/hello"},
//			func(ctx *motia.Context, req *motia.ApiRequest) (*motia.ApiResponse, error) {
//				return motia.JSON(200, map[string]string{"hello": "world"}), nil
//			})
//	}
//
// The launcher (motia_runner_go, registered with motia-core's runner registry) compiles the project's Go
// files together with this package into one runner binary per project; see runners/go/README.md.
package motia
