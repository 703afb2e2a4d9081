package motia

import (
	"encoding/json"
	"reflect"
	"testing"
)

func decode(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestValuesReadAStringOrAListAndWriteThemBackTheSameWay(t *testing.T) {
	var v Values
	if err := json.Unmarshal([]byte(`{"a":"1","b":["2","3"]}`), &v); err != nil {
		t.Fatal(err)
	}
	if v.Get("a") != "1" || v.Get("b") != "2" || v.Get("missing") != "" {
		t.Fatalf("values = %v", v)
	}
	back, _ := json.Marshal(v)
	if !reflect.DeepEqual(decode(t, back), map[string]any{"a": "1", "b": []any{"2", "3"}}) {
		t.Fatalf("round trip = %s", back)
	}
	if err := json.Unmarshal([]byte(`{"a":1}`), &v); err == nil || err.Error() != `"a": expected a string or a list of strings` {
		t.Fatalf("a number is refused with the name, got %v", err)
	}
}

func TestFieldsAreKeyValuePairsOrOneMapAndNeverLost(t *testing.T) {
	cases := []struct {
		fields []any
		want   map[string]any
	}{
		{[]any{"n", 1, "s", "x"}, map[string]any{"n": 1.0, "s": "x"}},
		{[]any{map[string]any{"k": true}}, map[string]any{"k": true}},
		{[]any{"odd"}, map[string]any{"field": "odd"}},
		{[]any{"a", 1, "dangling"}, map[string]any{"a": 1.0, "dangling": nil}},
		{[]any{"f", func() {}}, nil}, // not JSON: logged as text, not dropped
	}
	for _, c := range cases {
		got := decode(t, fieldsJSON(c.fields))
		if c.want == nil {
			if _, ok := got["f"].(string); !ok {
				t.Fatalf("a func field = %v", got)
			}
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Fatalf("fieldsJSON(%v) = %v, want %v", c.fields, got, c.want)
		}
	}
}
