package motia

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"google.golang.org/grpc"

	pb "motia/internal/runnerpb"
)

const (
	protocolVersion  = 1
	maxMessageBytes  = 64 << 20 // both sides raise gRPC's limit to 64 MiB (Welcome.max_message_bytes)
	envelopeMargin   = 64 << 10 // room for the envelope around a payload
	defaultSlots     = 1024
	closeWait        = 5 * time.Second // after half-closing, how long to wait for the core to end the stream
	sdkVersion       = "0.1.0"
	exitOK, exitFail = 0, 1
	exitRefused      = 2
	exitUnusable     = 3 // the environment the core gives is missing or wrong
)

var capabilities = []string{"streams", "cancel", "drain", "http_body_bytes"}

// Main runs the Go runner: the generated main of the project's runner binary calls it after the step
// files' init() functions registered their steps. It returns only by exiting the process.
func Main() {
	os.Exit(run())
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "motia go runner: "+format+"\n", args...)
}

type settings struct {
	address, secret, projectDir string
	slots                       int
}

func settingsFromEnv() (settings, error) {
	s := settings{
		address:    strings.TrimSpace(os.Getenv("MOTIA_CORE_ADDRESS")),
		secret:     os.Getenv("MOTIA_RUNNER_SECRET"),
		projectDir: os.Getenv("MOTIA_PROJECT_DIR"),
		slots:      defaultSlots,
	}
	if s.address == "" {
		return s, fmt.Errorf("MOTIA_CORE_ADDRESS is not set: the runner is started by motia-core, which passes the address of its gRPC socket")
	}
	if raw := strings.TrimSpace(os.Getenv("MOTIA_RUNNER_SLOTS")); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 {
			return s, fmt.Errorf("MOTIA_RUNNER_SLOTS=%q must be an integer of at least 1", raw)
		}
		s.slots = n
	}
	return s, nil
}

// watchStdin exits the moment the core goes away: its end of our stdin pipe closes (even on kill -9).
// Only a pipe or socket is watched, so running the binary by hand from a terminal works.
func watchStdin() {
	info, err := os.Stdin.Stat()
	if err != nil || info.Mode()&(os.ModeNamedPipe|os.ModeSocket) == 0 {
		return
	}
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		logf("stdin closed (the core went away); exiting")
		os.Exit(exitFail)
	}()
}

func dial(address string) (*grpc.ClientConn, error) {
	options := []grpc.DialOption{
		grpc.WithInsecure(),
		grpc.WithDefaultCallOptions(grpc.ForceCodec(codec{}), grpc.MaxCallRecvMsgSize(maxMessageBytes), grpc.MaxCallSendMsgSize(maxMessageBytes)),
		grpc.WithNoProxy(), // the core is local; never route through $http_proxy
		// Fixed receive windows as large as a message: grpc-go then sends no BDP-estimation pings and
		// a WINDOW_UPDATE only per quarter window, HTTP/2 frames the core would read besides ours.
		grpc.WithInitialWindowSize(maxMessageBytes),
		grpc.WithInitialConnWindowSize(maxMessageBytes),
	}
	if path := strings.TrimPrefix(address, "unix:"); path != address {
		path = strings.TrimPrefix(path, "//")
		options = append(options, grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		}))
		address = "passthrough:///motia-core"
	}
	return grpc.Dial(address, options...)
}

func run() int {
	s, err := settingsFromEnv()
	if err != nil {
		logf("%v", err)
		return exitUnusable
	}
	watchStdin()
	defer startCPUProfile()()
	conn, err := dial(s.address)
	if err != nil {
		logf("cannot dial the core at %s: %v", s.address, err)
		return exitFail
	}
	defer conn.Close()
	streamCtx, cancelStream := context.WithCancel(context.Background())
	defer cancelStream()
	stream, err := pb.NewRunnerServiceClient(conn).Connect(streamCtx)
	if err != nil {
		logf("cannot open the stream to the core: %v", err)
		return exitFail
	}
	sess := newSession(s, stream)
	return sess.serve()
}

type session struct {
	settings settings
	stream   pb.RunnerService_ConnectClient
	out      *outbox
	router   *router
	inv      *invocations
	mu       sync.Mutex
	steps    map[string]*step
	welcomed bool
	draining bool
	drained  chan struct{} // closed once a drain half-closed the stream
	readErr  chan error
	sigterm  chan os.Signal
}

func newSession(s settings, stream pb.RunnerService_ConnectClient) *session {
	out := newOutbox(stream.Send, maxMessageBytes-16<<10)
	r := newRouter(out)
	sess := &session{settings: s, stream: stream, out: out, router: r, steps: map[string]*step{},
		drained: make(chan struct{}), readErr: make(chan error, 1), sigterm: make(chan os.Signal, 2)}
	sess.inv = newInvocations(out, r, sess.step, maxMessageBytes-envelopeMargin)
	return sess
}

func (s *session) step(id string) *step {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.steps[id]
}

func (s *session) serve() int {
	go s.out.run()
	s.out.put(s.hello())
	signal.Notify(s.sigterm, syscall.SIGTERM)
	go func() { s.readErr <- s.read() }()
	for {
		select {
		case err := <-s.readErr:
			return s.finish(err)
		case <-s.sigterm:
			s.onSigterm()
		case <-s.drained:
			// Drained and half-closed: give the core a moment to end the stream.
			select {
			case <-s.readErr:
			case <-time.After(closeWait):
			}
			s.router.close()
			return exitOK
		}
	}
}

func (s *session) finish(err error) int {
	s.router.close()
	s.inv.stopAll()
	s.mu.Lock()
	draining := s.draining
	s.mu.Unlock()
	if refused, ok := err.(*refusedError); ok {
		logf("%s", refused.message)
		return exitRefused
	}
	if draining {
		return exitOK
	}
	if err == nil || err == io.EOF {
		logf("the core closed the stream without a Shutdown; exiting")
	} else {
		logf("the stream to the core failed: %v", err)
	}
	return exitFail
}

type refusedError struct{ message string }

func (r *refusedError) Error() string { return r.message }

// read handles every envelope of each CoreFrame in order and never waits for a handler.
func (s *session) read() error {
	for {
		frame, err := s.stream.Recv()
		if err != nil {
			return err
		}
		for _, message := range frame.Messages {
			if err := s.dispatch(message); err != nil {
				return err
			}
		}
	}
}

func (s *session) dispatch(message *pb.CoreMessage) error {
	if !s.welcomed {
		return s.handshake(message)
	}
	switch kind := message.Kind.(type) {
	case *pb.CoreMessage_LoadSteps:
		s.loadSteps(kind.LoadSteps)
	case *pb.CoreMessage_Start:
		s.inv.start(kind.Start)
	case *pb.CoreMessage_CallReply:
		s.router.resolve(kind.CallReply)
	case *pb.CoreMessage_Ping:
		s.out.put(&pb.RunnerMessage{Kind: &pb.RunnerMessage_Pong{Pong: &pb.Pong{Nonce: kind.Ping.Nonce}}})
	case *pb.CoreMessage_Cancel:
		s.inv.cancel(kind.Cancel)
	case *pb.CoreMessage_Shutdown:
		s.startDrain("shutdown", time.Duration(kind.Shutdown.GraceMs)*time.Millisecond)
	}
	// Anything else (Pong, an unknown kind from a newer core speaking a compatible protocol) is ignored.
	return nil
}

func (s *session) handshake(message *pb.CoreMessage) error {
	switch kind := message.Kind.(type) {
	case *pb.CoreMessage_Refusal:
		r := kind.Refusal
		return &refusedError{fmt.Sprintf("the core refused the connection: %s: %s (core speaks protocol %d..%d)",
			r.Code.String(), r.Message, r.CoreProtocolMin, r.CoreProtocolMax)}
	case *pb.CoreMessage_Welcome:
		w := kind.Welcome
		if w.ProtocolVersion != protocolVersion {
			return fmt.Errorf("the core chose protocol %d; this runner speaks %d", w.ProtocolVersion, protocolVersion)
		}
		if w.MaxMessageBytes > 0 && int(w.MaxMessageBytes) < maxMessageBytes {
			limit := int(w.MaxMessageBytes)
			s.out.maxBytes.Store(int64(limit - limit/8))
			s.inv.maxPayload = limit - envelopeMargin
			if s.inv.maxPayload < limit/2 {
				s.inv.maxPayload = limit / 2
			}
		}
		s.mu.Lock()
		s.welcomed = true
		s.mu.Unlock()
		return nil
	}
	return fmt.Errorf("expected Welcome or Refusal from the core, got %T", message.Kind)
}

// loadSteps answers with what each named file registered from init(). The binary cannot re-import
// code: under `dev` the launcher rebuilds it and the core starts a new runner.
func (s *session) loadSteps(request *pb.LoadSteps) {
	answer := &pb.StepsLoaded{RequestId: request.RequestId}
	s.mu.Lock()
	for _, file := range request.Files {
		found, err := lookupFile(file.RelativePath)
		if err != nil {
			delete(s.steps, file.StepId)
			answer.Errors = append(answer.Errors, &pb.LoadError{StepId: file.StepId, ErrorType: "RegistrationError", Message: err.Error()})
			continue
		}
		s.steps[file.StepId] = found
		answer.Steps = append(answer.Steps, &pb.StepManifest{StepId: file.StepId, ConfigJson: found.configJSON, HasHandler: found.hasHandler()})
	}
	s.mu.Unlock()
	s.out.put(&pb.RunnerMessage{Kind: &pb.RunnerMessage_StepsLoaded{StepsLoaded: answer}})
}

func (s *session) onSigterm() {
	s.mu.Lock()
	welcomed := s.welcomed
	s.mu.Unlock()
	if !welcomed {
		logf("SIGTERM before the core's Welcome; exiting")
		os.Exit(exitOK)
	}
	s.mu.Lock()
	draining := s.draining
	s.mu.Unlock()
	if draining {
		logf("SIGTERM while draining; still finishing the work in flight")
		return
	}
	logf("SIGTERM: draining the invocations in flight, then exiting")
	s.out.put(&pb.RunnerMessage{Kind: &pb.RunnerMessage_Draining{Draining: &pb.Draining{Reason: "SIGTERM"}}})
	s.startDrain("SIGTERM", 0)
}

// startDrain takes no new work, waits for what is in flight (up to grace; 0 = all of it), flushes,
// half-closes the stream and lets serve() exit 0. A second drain changes nothing.
func (s *session) startDrain(reason string, grace time.Duration) {
	s.mu.Lock()
	if s.draining {
		s.mu.Unlock()
		return
	}
	s.draining = true
	s.mu.Unlock()
	s.inv.stopAccepting() // now, on the reader: a StartInvocation behind the Shutdown must not run
	if reason == "shutdown" && grace <= 0 {
		grace = time.Millisecond
	}
	go func() {
		if left := s.inv.drain(grace); left > 0 {
			logf("%s: %d invocation(s) still running after %v; abandoning them", reason, left, grace)
			s.inv.stopAll()
		}
		s.out.closeAndFlush()
		_ = s.stream.CloseSend() // safe: the writer goroutine has finished
		close(s.drained)
	}()
}

func (s *session) hello() *pb.RunnerMessage {
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	hello := &pb.Hello{
		ProtocolMin: protocolVersion, ProtocolMax: protocolVersion, RunnerInstanceId: hex.EncodeToString(id),
		Language: "go", RuntimeVersion: runtime.Version(), SdkVersion: sdkVersion,
		ConcurrencySlots: uint32(s.settings.slots), Secret: s.settings.secret, Pid: uint32(os.Getpid()),
		Capabilities: capabilities,
	}
	return &pb.RunnerMessage{Kind: &pb.RunnerMessage_Hello{Hello: hello}}
}
