package motia

import (
	"encoding/json"
)

// Schema is a JSON Schema (https://json-schema.org) as a plain JSON object, e.g.
// motia.Schema{"type": "object", "properties": motia.Schema{"text": motia.Schema{"type": "string"}}}.
type Schema = map[string]any

// Emit is a topic a step emits, with Motia's optional Workbench label and conditional flag.
type Emit struct {
	Topic       string `json:"topic"`
	Label       string `json:"label,omitempty"`
	Conditional bool   `json:"conditional,omitempty"`
}

// Topics turns topic names into Emits.
func Topics(topics ...string) []Emit {
	emits := make([]Emit, len(topics))
	for i, topic := range topics {
		emits[i] = Emit{Topic: topic}
	}
	return emits
}

// MarshalJSON writes a plain topic as a string (as Motia configs do) and a labelled one as an object.
func (e Emit) MarshalJSON() ([]byte, error) {
	if e.Label == "" && !e.Conditional {
		return json.Marshal(e.Topic)
	}
	type plain Emit
	return json.Marshal(plain(e))
}

// HandlerInfra sets an event or API handler's limits (infrastructure.handler); Timeout is in seconds.
type HandlerInfra struct {
	RAM     int     `json:"ram,omitempty"`
	CPU     float64 `json:"cpu,omitempty"`
	Timeout float64 `json:"timeout,omitempty"`
}

// QueueInfra sets an event step's queue (infrastructure.queue): retries, visibility timeout, fifo.
type QueueInfra struct {
	Type              string  `json:"type,omitempty"` // "standard" or "fifo"
	MaxRetries        *int    `json:"maxRetries,omitempty"`
	VisibilityTimeout float64 `json:"visibilityTimeout,omitempty"`
	DelaySeconds      float64 `json:"delaySeconds,omitempty"`
	Concurrency       int     `json:"concurrency,omitempty"`
}

// Infrastructure is a step's infrastructure block (docs/delivery.md).
type Infrastructure struct {
	Handler *HandlerInfra `json:"handler,omitempty"`
	Queue   *QueueInfra   `json:"queue,omitempty"`
}

// QueryParam documents one query parameter of an API step (shown in the Workbench and OpenAPI).
type QueryParam struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

// ApiConfig is an API step's config: an HTTP route answered by the handler.
type ApiConfig struct {
	Name           string            `json:"name"`
	Description    string            `json:"description,omitempty"`
	Method         string            `json:"method"`
	Path           string            `json:"path"` // Express style: /users/:id
	Emits          []Emit            `json:"emits"`
	VirtualEmits   []Emit            `json:"virtualEmits"`
	Flows          []string          `json:"flows"`
	BodySchema     Schema            `json:"bodySchema"`
	ResponseSchema map[string]Schema `json:"responseSchema"` // by status code, e.g. "200"
	QueryParams    []QueryParam      `json:"queryParams"`
	Infrastructure *Infrastructure   `json:"infrastructure,omitempty"` // only Handler applies to API steps
	IncludeFiles   []string          `json:"includeFiles"`
}

// EventConfig is an event step's config: the handler runs for every event on a subscribed topic.
type EventConfig struct {
	Name              string          `json:"name"`
	Description       string          `json:"description,omitempty"`
	Subscribes        []string        `json:"subscribes"`
	Emits             []Emit          `json:"emits"`
	VirtualEmits      []Emit          `json:"virtualEmits"`
	VirtualSubscribes []string        `json:"virtualSubscribes"`
	Flows             []string        `json:"flows"`
	Input             Schema          `json:"input"`
	Infrastructure    *Infrastructure `json:"infrastructure,omitempty"`
	IncludeFiles      []string        `json:"includeFiles"`
}

// CronConfig is a cron step's config: the handler runs on the schedule (5 fields, or 6 with seconds first).
type CronConfig struct {
	Name         string   `json:"name"`
	Description  string   `json:"description,omitempty"`
	Cron         string   `json:"cron"`
	Emits        []Emit   `json:"emits"`
	VirtualEmits []Emit   `json:"virtualEmits"`
	Flows        []string `json:"flows"`
	IncludeFiles []string `json:"includeFiles"`
}

// NoopConfig is a noop step: a node of the flow diagram with no handler.
type NoopConfig struct {
	Name              string   `json:"name"`
	Description       string   `json:"description,omitempty"`
	VirtualEmits      []Emit   `json:"virtualEmits"`
	VirtualSubscribes []string `json:"virtualSubscribes"`
	Flows             []string `json:"flows"`
}

// Subscription is what a WebSocket client asks to join: a stream group, or one item of it.
type Subscription struct {
	GroupID string `json:"groupId"`
	ID      string `json:"id,omitempty"`
}

// StreamConfig declares a stream (docs/streams.md). CanAccess, when set, decides every join: the
// client's subscription and the auth context the project's stream auth handler returned.
type StreamConfig struct {
	Name      string
	Schema    Schema
	CanAccess func(sub Subscription, authContext json.RawMessage) (bool, error)
}

func (s StreamConfig) toJSON() map[string]any {
	out := map[string]any{"name": s.Name, "schema": s.Schema, "baseConfig": map[string]any{"storageType": "default"}}
	if s.Schema == nil {
		out["schema"] = Schema{}
	}
	if s.CanAccess != nil {
		out["canAccess"] = map[string]string{"$function": "canAccess"}
	}
	return out
}

// withType encodes a config struct and adds its "type", with nil lists written as [] (as Motia does).
func withType(kind string, config any) ([]byte, error) {
	raw, err := json.Marshal(config)
	if err != nil {
		return nil, err
	}
	var fields map[string]any
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, err
	}
	// A nil list or map is left out (emits and subscribes, which Motia always writes, become []);
	// an empty one the author wrote stays [] or {}.
	for key, value := range fields {
		if value == nil {
			if key == "emits" || key == "subscribes" {
				fields[key] = []any{}
			} else {
				delete(fields, key)
			}
		}
	}
	fields["type"] = kind
	return json.Marshal(fields)
}
