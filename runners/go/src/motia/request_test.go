package motia

import (
	"encoding/json"
	"reflect"
	"testing"
)

// Headers and query parameters come as a string or a list of strings; null reads as "".
func TestValuesDecodeStringsListsAndNull(t *testing.T) {
	var got Values
	raw := `{"accept":"text/html","x-many":["a","b\u00e9"],"empty":[],"gone":null,"holes":["a",null],"esc":"q\"\\"}`
	if err := json.Unmarshal([]byte(raw), &got); err != nil {
		t.Fatal(err)
	}
	want := Values{"accept": {"text/html"}, "x-many": {"a", "bé"}, "empty": {}, "gone": {""}, "holes": {"a", ""},
		"esc": {`q"\`}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v\nwant %#v", got, want)
	}
	if got.Get("x-many") != "a" || got.Get("missing") != "" {
		t.Fatalf("Get: %q %q", got.Get("x-many"), got.Get("missing"))
	}
}

// Anything else is an error that names the field.
func TestValuesRejectNumbersAndObjects(t *testing.T) {
	for _, raw := range []string{`{"n":1}`, `{"n":[1]}`, `{"n":{"a":"b"}}`, `["a"]`} {
		var got Values
		err := json.Unmarshal([]byte(raw), &got)
		if err == nil {
			t.Fatalf("%s decoded to %#v; want an error", raw, got)
		}
		if raw != `["a"]` && err.Error() != `"n": expected a string or a list of strings` {
			t.Fatalf("%s: error %q does not name the field", raw, err)
		}
	}
}
