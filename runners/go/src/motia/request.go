package motia

import (
	"encoding/json"
	"fmt"
)

// Values maps a name to its values: HTTP headers (lower-cased names) and query parameters, which the
// core sends as a string or a list of strings.
type Values map[string][]string

// Get is the first value of name, or "".
func (v Values) Get(name string) string {
	if values := v[name]; len(values) > 0 {
		return values[0]
	}
	return ""
}

// UnmarshalJSON accepts {"name": "value"} and {"name": ["a", "b"]} (null reads as "").
//
// One decoding pass into interface values: decoding each value again as a string, then as a list,
// was a third of the runner's CPU per API request (every request carries its headers).
func (v *Values) UnmarshalJSON(data []byte) error {
	var raw map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	out := make(Values, len(raw))
	for name, value := range raw {
		switch value := value.(type) {
		case string:
			out[name] = []string{value}
		case nil:
			out[name] = []string{""}
		case []any:
			many := make([]string, len(value))
			for i, item := range value {
				switch item := item.(type) {
				case string:
					many[i] = item
				case nil:
				default:
					return fmt.Errorf("%q: expected a string or a list of strings", name)
				}
			}
			out[name] = many
		default:
			return fmt.Errorf("%q: expected a string or a list of strings", name)
		}
	}
	*v = out
	return nil
}

// MarshalJSON writes a single value as a string and several as a list, as the core sent them.
func (v Values) MarshalJSON() ([]byte, error) {
	out := make(map[string]any, len(v))
	for name, values := range v {
		if len(values) == 1 {
			out[name] = values[0]
		} else {
			out[name] = values
		}
	}
	return json.Marshal(out)
}

// ApiRequest is an API step's HTTP request, as the core sends it.
type ApiRequest struct {
	Body        json.RawMessage   `json:"body"` // parsed JSON (form fields as an object, text as a string)
	Headers     Values            `json:"headers"`
	PathParams  map[string]string `json:"pathParams"`
	QueryParams Values            `json:"queryParams"`
	RawBody     string            `json:"rawBody"`
	Raw         []byte            `json:"-"` // the body exactly as the client sent it (binary bodies: read this)
	ContentType string            `json:"-"` // the request's Content-Type, verbatim ("" = none)
}

// Bind decodes the JSON body into v (a pointer). The core has already checked bodySchema, if any.
func (r *ApiRequest) Bind(v any) error {
	if len(r.Body) == 0 {
		return fmt.Errorf("the request has no body")
	}
	if err := json.Unmarshal(r.Body, v); err != nil {
		return fmt.Errorf("the request body does not decode into %T: %w", v, err)
	}
	return nil
}

// ApiResponse is an API handler's answer. Body is sent as bytes when it is a []byte
// (application/octet-stream unless Headers set a Content-Type), as text when it is a string
// (text/plain), and as JSON otherwise (a json.RawMessage as the JSON it holds).
type ApiResponse struct {
	Status  int               `json:"status"`
	Body    any               `json:"body,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
}

// JSON is a response with this status and body.
func JSON(status int, body any) *ApiResponse {
	return &ApiResponse{Status: status, Body: body}
}

// WithHeader adds a response header and returns the response, for chaining.
func (r *ApiResponse) WithHeader(name, value string) *ApiResponse {
	if r.Headers == nil {
		r.Headers = map[string]string{}
	}
	r.Headers[name] = value
	return r
}
