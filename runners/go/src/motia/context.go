package motia

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	pb "motia/internal/runnerpb"
)

// Context is what a handler gets besides its input. It is a context.Context: Done() closes when the
// core cancels the invocation (handler timeout, HTTP client gone, shutdown); pass it to anything that
// can stop early. Every call to the core made after that returns ErrCancelled.
type Context struct {
	context.Context
	TraceID string   // the trace this run belongs to
	Flows   []string // the step's flows
	Attempt int      // 1-based delivery attempt (events are retried)
	Topic   string   // event steps: the topic that fired
	Logger  *Logger
	State   *State
	calls   *caller
}

// EventMessage is an emit with every option.
type EventMessage struct {
	Topic          string
	Data           any
	MessageGroupID string // fifo queues: events of one group are handled in order
}

// Emit sends an event to the steps subscribed to topic. data is encoded as JSON.
func (c *Context) Emit(topic string, data any) error {
	return c.EmitEvent(EventMessage{Topic: topic, Data: data})
}

// EmitEvent is Emit with a message group.
//
// As in Motia 0.x, an emit that cannot be delivered does not fail the handler: an event without a
// topic is not sent, and one the core drops (a topic missing from the step's emits) is not an error.
// Each logs one WARN naming the file and line of the emit call. Under `serve --strict`
// (MOTIA_STRICT=1) both are errors instead.
func (c *Context) EmitEvent(event EventMessage) error {
	if event.Topic == "" {
		if strictMode() {
			return fmt.Errorf("emit: an event needs a non-empty Topic")
		}
		c.warnDropped("no_topic", "", "emit() got an event without a topic; it needs a non-empty Topic")
		return nil
	}
	data, err := encode("emit", event.Data)
	if err != nil {
		return err
	}
	op := &pb.Call_Emit{Emit: &pb.Emit{Topic: event.Topic, DataJson: data, MessageGroupId: event.MessageGroupID}}
	reply, err := c.calls.do("emit", &pb.Call{Op: op})
	if err != nil {
		return err
	}
	if len(reply) > 0 && reply[0] == '{' { // the usual reply is null
		var dropped struct {
			Dropped string `json:"dropped"`
			Message string `json:"message"`
		}
		if json.Unmarshal(reply, &dropped) == nil && dropped.Dropped != "" {
			if dropped.Message == "" {
				dropped.Message = "emit dropped (" + dropped.Dropped + ")"
			}
			c.warnDropped(dropped.Dropped, event.Topic, dropped.Message)
		}
	}
	return nil
}

// warnDropped logs Motia's emit_dropped warning, whose fields the core counts in /metrics.
func (c *Context) warnDropped(reason, topic, message string) {
	fields := []any{"motia", "emit_dropped", "reason", reason}
	if topic != "" {
		fields = append(fields, "topic", topic)
	}
	if file, line, ok := userCallSite(); ok {
		fields = append(fields, "file", file, "line", line)
		message = fmt.Sprintf("%s (%s:%d)", message, file, line)
	}
	c.Logger.Warn(message, fields...)
}

// userCallSite is the first stack frame outside this package: the handler's emit call.
func userCallSite() (string, int, bool) {
	pcs := make([]uintptr, 16)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(2, pcs)])
	for {
		frame, more := frames.Next()
		if !strings.HasPrefix(frame.Function, "motia.") {
			return projectPath(frame.File), frame.Line, frame.File != ""
		}
		if !more {
			return "", 0, false
		}
	}
}

func strictMode() bool {
	switch strings.ToLower(strings.TrimSpace(os.Getenv("MOTIA_STRICT"))) {
	case "", "0", "false", "no":
		return false
	}
	return true
}

// Stream is the named stream of the project (its *_stream file's config name).
func (c *Context) Stream(name string) *StreamClient {
	return &StreamClient{name: name, calls: c.calls}
}

func encode(op string, value any) ([]byte, error) {
	if raw, ok := value.(json.RawMessage); ok && raw != nil {
		return raw, nil
	}
	data, err := json.Marshal(value)
	if err != nil {
		return nil, fmt.Errorf("%s: the value is not JSON: %w", op, err)
	}
	return data, nil
}

// decodeInto fills out (a pointer) from a JSON reply; found is false for null.
func decodeInto(op string, raw json.RawMessage, out any) (bool, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return false, nil
	}
	if out == nil {
		return true, nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return true, fmt.Errorf("%s: the stored value does not decode into %T: %w", op, out, err)
	}
	return true, nil
}

func decodeList(op string, raw json.RawMessage) ([]json.RawMessage, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, fmt.Errorf("%s: expected a JSON array from the core: %w", op, err)
	}
	return items, nil
}

// State is the project's key-value state, by group and key. Values are JSON, shared with every
// language's steps.
type State struct{ calls *caller }

// Get decodes the value of group/key into out (a pointer); false when there is none.
func (s *State) Get(group, key string, out any) (bool, error) {
	raw, err := s.calls.do("state_get", &pb.Call{Op: &pb.Call_StateGet{StateGet: &pb.StateGet{GroupId: group, Key: key}}})
	if err != nil {
		return false, err
	}
	return decodeInto("state_get", raw, out)
}

// Set stores value (encoded as JSON) under group/key.
func (s *State) Set(group, key string, value any) error {
	data, err := encode("state_set", value)
	if err != nil {
		return err
	}
	op := &pb.Call_StateSet{StateSet: &pb.StateSet{GroupId: group, Key: key, ValueJson: data}}
	_, err = s.calls.do("state_set", &pb.Call{Op: op})
	return err
}

// Delete removes group/key and returns the old value (nil when there was none).
func (s *State) Delete(group, key string) (json.RawMessage, error) {
	op := &pb.Call_StateDelete{StateDelete: &pb.StateDelete{GroupId: group, Key: key}}
	raw, err := s.calls.do("state_delete", &pb.Call{Op: op})
	if err != nil || string(raw) == "null" {
		return nil, err
	}
	return raw, nil
}

// GetGroup is every value of group, in the order their keys were first set.
func (s *State) GetGroup(group string) ([]json.RawMessage, error) {
	op := &pb.Call_StateGetGroup{StateGetGroup: &pb.StateGetGroup{GroupId: group}}
	raw, err := s.calls.do("state_get_group", &pb.Call{Op: op})
	if err != nil {
		return nil, err
	}
	return decodeList("state_get_group", raw)
}

// Clear removes every key of group.
func (s *State) Clear(group string) error {
	_, err := s.calls.do("state_clear", &pb.Call{Op: &pb.Call_StateClear{StateClear: &pb.StateClear{GroupId: group}}})
	return err
}

// StreamClient reads and writes one stream's items; every change reaches its WebSocket subscribers.
type StreamClient struct {
	name  string
	calls *caller
}

// Get decodes the item group/id into out (a pointer); false when there is none.
func (s *StreamClient) Get(group, id string, out any) (bool, error) {
	op := &pb.Call_StreamGet{StreamGet: &pb.StreamGet{Stream: s.name, GroupId: group, Id: id}}
	raw, err := s.calls.do("stream_get", &pb.Call{Op: op})
	if err != nil {
		return false, err
	}
	return decodeInto("stream_get", raw, out)
}

// Set stores data (a JSON object) as item group/id and returns the stored item ({...data, "id": id}).
func (s *StreamClient) Set(group, id string, data any) (json.RawMessage, error) {
	encoded, err := encode("stream_set", data)
	if err != nil {
		return nil, err
	}
	op := &pb.Call_StreamSet{StreamSet: &pb.StreamSet{Stream: s.name, GroupId: group, Id: id, DataJson: encoded}}
	return s.calls.do("stream_set", &pb.Call{Op: op})
}

// Delete removes item group/id and returns it (nil when there was none).
func (s *StreamClient) Delete(group, id string) (json.RawMessage, error) {
	op := &pb.Call_StreamDelete{StreamDelete: &pb.StreamDelete{Stream: s.name, GroupId: group, Id: id}}
	raw, err := s.calls.do("stream_delete", &pb.Call{Op: op})
	if err != nil || string(raw) == "null" {
		return nil, err
	}
	return raw, nil
}

// GetGroup is every item of group, oldest first.
func (s *StreamClient) GetGroup(group string) ([]json.RawMessage, error) {
	op := &pb.Call_StreamGetGroup{StreamGetGroup: &pb.StreamGetGroup{Stream: s.name, GroupId: group}}
	raw, err := s.calls.do("stream_get_group", &pb.Call{Op: op})
	if err != nil {
		return nil, err
	}
	return decodeList("stream_get_group", raw)
}

// Send pushes an ephemeral event of this type to the subscribers of group (id "") or of one item.
func (s *StreamClient) Send(group, id, eventType string, data any) error {
	encoded, err := encode("stream_send", data)
	if err != nil {
		return err
	}
	op := &pb.Call_StreamSend{StreamSend: &pb.StreamSend{Stream: s.name, GroupId: group, Id: id, Type: eventType, DataJson: encoded}}
	_, err = s.calls.do("stream_send", &pb.Call{Op: op})
	return err
}

// Logger sends log records to the core, tied to the invocation's trace and step. Fields are
// key/value pairs: ctx.Logger.Info("charged", "orderId", id, "amount", 12).
type Logger struct{ calls *caller }

func (l *Logger) Debug(message string, fields ...any) { l.log(pb.Log_LEVEL_DEBUG, message, fields) }
func (l *Logger) Info(message string, fields ...any)  { l.log(pb.Log_LEVEL_INFO, message, fields) }
func (l *Logger) Warn(message string, fields ...any)  { l.log(pb.Log_LEVEL_WARN, message, fields) }
func (l *Logger) Error(message string, fields ...any) { l.log(pb.Log_LEVEL_ERROR, message, fields) }

func (l *Logger) log(level pb.Log_Level, message string, fields []any) {
	record := &pb.Log{Level: level, Message: message, TimeUnixMs: time.Now().UnixMilli()}
	if len(fields) > 0 {
		record.FieldsJson = fieldsJSON(fields)
	}
	l.calls.send(&pb.Call{Op: &pb.Call_Log{Log: record}})
}

// fieldsJSON turns key/value pairs (or one map) into a JSON object; a value that is not JSON is
// logged as its %v text rather than losing the line.
func fieldsJSON(fields []any) []byte {
	object := map[string]any{}
	if len(fields) == 1 {
		if m, ok := fields[0].(map[string]any); ok {
			object = m
		} else {
			object["field"] = fields[0]
		}
	} else {
		for i := 0; i < len(fields); i += 2 {
			key := fmt.Sprint(fields[i])
			if i+1 < len(fields) {
				object[key] = fields[i+1]
			} else {
				object[key] = nil
			}
		}
	}
	data, err := json.Marshal(object)
	if err != nil {
		text := map[string]string{}
		for key, value := range object {
			text[key] = fmt.Sprintf("%v", value)
		}
		data, _ = json.Marshal(text)
	}
	return data
}
