package steps

import (
	"strings"

	"motia"
)

func init() {
	motia.API(motia.ApiConfig{
		Name:   "ConformanceBig",
		Method: "POST",
		Path:   "/conformance/big",
		Flows:  []string{"conformance"},
	}, func(ctx *motia.Context, req *motia.ApiRequest) (*motia.ApiResponse, error) {
		var body struct {
			Size int `json:"size"`
		}
		if err := req.Bind(&body); err != nil {
			return nil, err
		}
		return motia.JSON(200, map[string]string{"data": strings.Repeat("x", body.Size)}), nil
	})
}
