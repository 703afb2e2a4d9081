package motia

import (
	"encoding/json"
	"fmt"
	"strings"

	pb "motia/internal/runnerpb"
)

// Bodies as bytes (docs/protocol.md#bodies-as-bytes): the runner announces "http_body_bytes", so an
// API invocation carries the request body once, as the bytes the client sent, and is answered with
// the response body encoded once here (Completed.http_response), never decoded by the core.

// addBody fills Body, RawBody and Raw from http_body as its encoding says; without it (a core that
// does not send one) Raw is the rawBody text of the payload.
func (r *ApiRequest) addBody(body *pb.HttpRequestBody) error {
	if body == nil {
		r.Raw = []byte(r.RawBody)
		return nil
	}
	r.Raw, r.ContentType = body.Raw, body.ContentType
	switch body.Encoding {
	case pb.HttpRequestBody_BODY_ENCODING_BINARY:
		r.Body, r.RawBody = nil, string(body.Raw) // read r.Raw: the bytes, never decoded
		return nil
	case pb.HttpRequestBody_BODY_ENCODING_JSON:
		if !json.Valid(body.Raw) {
			return &failure{pb.FailureKind_FAILURE_KIND_BAD_PAYLOAD, "BadPayload", "http_body is not JSON"}
		}
		r.Body = json.RawMessage(body.Raw)
	case pb.HttpRequestBody_BODY_ENCODING_TEXT:
		text, _ := json.Marshal(strings.ToValidUTF8(string(body.Raw), "\uFFFD"))
		r.Body = text
	}
	// IN_PAYLOAD: payload_json carried the body (a form, or {} for an empty body)
	r.RawBody = strings.ToValidUTF8(string(body.Raw), "\uFFFD")
	return nil
}

// encodeHTTP splits a response for Completed.http_response: []byte is sent as BINARY, a string as
// TEXT, json.RawMessage as the JSON it holds, anything else as its JSON. A status outside 100-599
// returns nil, so the response goes as payload_json and the core names what is wrong with it.
func (iv *invocations) encodeHTTP(response *ApiResponse) (*pb.HttpResponse, error) {
	if response.Status != 0 && (response.Status < 100 || response.Status > 599) {
		return nil, nil
	}
	out := &pb.HttpResponse{Status: uint32(response.Status)}
	if response.Headers != nil {
		headers, err := json.Marshal(response.Headers)
		if err != nil {
			return nil, badResult("headers", err)
		}
		out.HeadersJson = headers
	}
	switch body := response.Body.(type) {
	case nil:
		out.BodyKind = pb.HttpResponse_BODY_KIND_NONE
	case json.RawMessage:
		if !json.Valid(body) {
			return nil, badResult("body", fmt.Errorf("json.RawMessage %q is not valid JSON", truncate(body)))
		}
		out.Body, out.BodyKind = body, pb.HttpResponse_BODY_KIND_JSON
	case []byte:
		out.Body, out.BodyKind = body, pb.HttpResponse_BODY_KIND_BINARY
	case string:
		out.Body, out.BodyKind = []byte(body), pb.HttpResponse_BODY_KIND_TEXT
	default:
		encoded, err := json.Marshal(body)
		if err != nil {
			return nil, badResult("body", err)
		}
		out.Body, out.BodyKind = encoded, pb.HttpResponse_BODY_KIND_JSON
	}
	if size := len(out.Body) + len(out.HeadersJson); size > iv.maxPayload {
		message := fmt.Sprintf("the handler returned a response of %d bytes, above the %d allowed", size, iv.maxPayload)
		return nil, &failure{pb.FailureKind_FAILURE_KIND_BAD_RESULT, "ResultTooLarge", message}
	}
	return out, nil
}

func badResult(field string, err error) error {
	message := fmt.Sprintf("the handler returned a %s that is not JSON: %v", field, err)
	return &failure{pb.FailureKind_FAILURE_KIND_BAD_RESULT, "NotJsonError", message}
}

func truncate(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "…"
	}
	return string(b)
}
