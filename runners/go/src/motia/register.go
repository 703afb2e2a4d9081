package motia

import (
	"encoding/json"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"sync"
)

// ApiHandler answers an API step's HTTP request.
type ApiHandler func(ctx *Context, req *ApiRequest) (*ApiResponse, error)

// EventHandler handles one event; input is the event's data as JSON (see EventOf for a typed input).
type EventHandler func(ctx *Context, input json.RawMessage) error

// CronHandler runs on a cron step's schedule.
type CronHandler func(ctx *Context) error

// StreamAuthHandler authenticates a WebSocket connection to the project's streams; its return value
// (any JSON) is the connection's auth context, given to every stream's CanAccess. An error rejects it.
type StreamAuthHandler func(ctx *Context, req *StreamAuthRequest) (any, error)

// StreamAuthRequest is what the stream auth handler sees of the WebSocket upgrade request.
type StreamAuthRequest struct {
	Headers   Values  `json:"headers"`
	URL       string  `json:"url"`
	AuthToken *string `json:"authToken"`
}

type stepKind int

const (
	kindAPI stepKind = iota
	kindEvent
	kindCron
	kindNoop
	kindStream
	kindStreamAuth
)

// step is one registration, keyed by the project-relative file that made it.
type step struct {
	file       string
	line       int
	name       string
	kind       stepKind
	configJSON []byte
	api        ApiHandler
	event      EventHandler
	cron       CronHandler
	canAccess  func(Subscription, json.RawMessage) (bool, error)
	streamAuth StreamAuthHandler
	site       string // file:line of the handler function
}

func (s *step) hasHandler() bool {
	return s.api != nil || s.event != nil || s.cron != nil || s.streamAuth != nil
}

// The registrations made by init() functions, and the files whose registration failed.
var (
	registryMu sync.Mutex
	registry   = map[string][]*step{}
	regErrors  = map[string]error{}
)

// buildPrefix is how `go build -trimpath` names a project file: the launcher builds the project's
// packages under the import path "project/...", so "project/steps/a_step.go" is "steps/a_step.go".
const buildPrefix = "project/"

// callerFile is the project-relative file and line of the init() that called a registration function.
func callerFile() (string, int) {
	_, file, line, ok := runtime.Caller(3)
	if !ok {
		return "", 0
	}
	return projectPath(file), line
}

// projectPath turns a compiled file name into the project-relative path the core uses.
func projectPath(file string) string {
	file = strings.ReplaceAll(file, "\\", "/")
	if i := strings.Index(file, "/src/"+buildPrefix); i >= 0 { // built without -trimpath
		file = file[i+len("/src/"):]
	}
	return strings.TrimPrefix(file, buildPrefix)
}

// funcSite is where a handler function is defined, for the stack of an error it returns (Go errors
// carry no stack; the file and line of the handler say which step failed).
func funcSite(fn any) string {
	value := reflect.ValueOf(fn)
	if value.Kind() != reflect.Func || value.IsNil() {
		return ""
	}
	f := runtime.FuncForPC(value.Pointer())
	if f == nil {
		return ""
	}
	file, line := f.FileLine(f.Entry())
	return fmt.Sprintf("%s:%d", projectPath(file), line)
}

func register(s *step, config any, kind string) {
	s.file, s.line = callerFile()
	var err error
	if kind == "" {
		s.configJSON, err = json.Marshal(config)
	} else {
		s.configJSON, err = withType(kind, config)
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	if err != nil {
		regErrors[s.file] = fmt.Errorf("line %d: the config of %q cannot be encoded as JSON: %w", s.line, s.name, err)
		return
	}
	registry[s.file] = append(registry[s.file], s)
}

// API registers an API step. Call it from the step file's init().
func API(config ApiConfig, handler ApiHandler) {
	register(&step{name: config.Name, kind: kindAPI, api: handler, site: funcSite(handler)}, config, "api")
}

// Event registers an event step whose handler takes the event data as raw JSON.
func Event(config EventConfig, handler EventHandler) {
	register(&step{name: config.Name, kind: kindEvent, event: handler, site: funcSite(handler)}, config, "event")
}

// EventOf registers an event step whose handler takes the event data decoded into T. Data that does
// not decode fails the invocation (non-retryable: a retry would get the same data).
func EventOf[T any](config EventConfig, handler func(ctx *Context, input T) error) {
	typed := func(ctx *Context, raw json.RawMessage) error {
		var input T
		if len(raw) > 0 {
			if err := json.Unmarshal(raw, &input); err != nil {
				return NonRetryable(fmt.Errorf("the event data does not decode into %T: %w", input, err))
			}
		}
		return handler(ctx, input)
	}
	register(&step{name: config.Name, kind: kindEvent, event: typed, site: funcSite(handler)}, config, "event")
}

// Cron registers a cron step.
func Cron(config CronConfig, handler CronHandler) {
	register(&step{name: config.Name, kind: kindCron, cron: handler, site: funcSite(handler)}, config, "cron")
}

// Noop registers a noop step (no handler).
func Noop(config NoopConfig) {
	register(&step{name: config.Name, kind: kindNoop}, config, "noop")
}

// Stream declares a stream; the file must be a stream file (*_stream.go).
func Stream(config StreamConfig) {
	register(&step{name: config.Name, kind: kindStream, canAccess: config.CanAccess}, config.toJSON(), "")
}

// StreamAuth registers the project's stream auth handler; the file must be stream_auth.go.
func StreamAuth(handler StreamAuthHandler) {
	register(&step{name: "streamAuth", kind: kindStreamAuth, streamAuth: handler, site: funcSite(handler)}, map[string]any{}, "")
}

// lookupFile is what a file registered, or why it cannot be loaded.
func lookupFile(file string) (*step, error) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if err, ok := regErrors[file]; ok {
		return nil, err
	}
	steps := registry[file]
	switch len(steps) {
	case 0:
		return nil, fmt.Errorf("the file registers no step: call motia.API, motia.Event, motia.Cron, motia.Noop, " +
			"motia.Stream or motia.StreamAuth from its init()")
	case 1:
		return steps[0], nil
	}
	where := make([]string, len(steps))
	for i, s := range steps {
		where[i] = fmt.Sprintf("%q at line %d", s.name, s.line)
	}
	return nil, fmt.Errorf("the file registers %d steps (%s); a step file registers exactly one",
		len(steps), strings.Join(where, ", "))
}
