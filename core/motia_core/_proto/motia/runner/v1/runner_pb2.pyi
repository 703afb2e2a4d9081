from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class StepFileKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STEP_FILE_KIND_UNSPECIFIED: _ClassVar[StepFileKind]
    STEP_FILE_KIND_PROJECT_CONFIG: _ClassVar[StepFileKind]

class Trigger(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRIGGER_UNSPECIFIED: _ClassVar[Trigger]
    TRIGGER_API: _ClassVar[Trigger]
    TRIGGER_EVENT: _ClassVar[Trigger]
    TRIGGER_CRON: _ClassVar[Trigger]
    TRIGGER_STREAM_ACCESS: _ClassVar[Trigger]
    TRIGGER_STREAM_AUTH: _ClassVar[Trigger]

class FailureKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FAILURE_KIND_UNSPECIFIED: _ClassVar[FailureKind]
    FAILURE_KIND_HANDLER_ERROR: _ClassVar[FailureKind]
    FAILURE_KIND_UNKNOWN_STEP: _ClassVar[FailureKind]
    FAILURE_KIND_BAD_PAYLOAD: _ClassVar[FailureKind]
    FAILURE_KIND_BAD_RESULT: _ClassVar[FailureKind]
    FAILURE_KIND_SHUTTING_DOWN: _ClassVar[FailureKind]
    FAILURE_KIND_TIMEOUT: _ClassVar[FailureKind]
STEP_FILE_KIND_UNSPECIFIED: StepFileKind
STEP_FILE_KIND_PROJECT_CONFIG: StepFileKind
TRIGGER_UNSPECIFIED: Trigger
TRIGGER_API: Trigger
TRIGGER_EVENT: Trigger
TRIGGER_CRON: Trigger
TRIGGER_STREAM_ACCESS: Trigger
TRIGGER_STREAM_AUTH: Trigger
FAILURE_KIND_UNSPECIFIED: FailureKind
FAILURE_KIND_HANDLER_ERROR: FailureKind
FAILURE_KIND_UNKNOWN_STEP: FailureKind
FAILURE_KIND_BAD_PAYLOAD: FailureKind
FAILURE_KIND_BAD_RESULT: FailureKind
FAILURE_KIND_SHUTTING_DOWN: FailureKind
FAILURE_KIND_TIMEOUT: FailureKind

class RunnerFrame(_message.Message):
    __slots__ = ("messages",)
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    messages: _containers.RepeatedCompositeFieldContainer[RunnerMessage]
    def __init__(self, messages: _Optional[_Iterable[_Union[RunnerMessage, _Mapping]]] = ...) -> None: ...

class CoreFrame(_message.Message):
    __slots__ = ("messages",)
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    messages: _containers.RepeatedCompositeFieldContainer[CoreMessage]
    def __init__(self, messages: _Optional[_Iterable[_Union[CoreMessage, _Mapping]]] = ...) -> None: ...

class RunnerMessage(_message.Message):
    __slots__ = ("hello", "steps_loaded", "result", "call", "ping", "pong", "cancelled", "draining")
    HELLO_FIELD_NUMBER: _ClassVar[int]
    STEPS_LOADED_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    CALL_FIELD_NUMBER: _ClassVar[int]
    PING_FIELD_NUMBER: _ClassVar[int]
    PONG_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_FIELD_NUMBER: _ClassVar[int]
    DRAINING_FIELD_NUMBER: _ClassVar[int]
    hello: Hello
    steps_loaded: StepsLoaded
    result: InvocationResult
    call: Call
    ping: Ping
    pong: Pong
    cancelled: Cancelled
    draining: Draining
    def __init__(self, hello: _Optional[_Union[Hello, _Mapping]] = ..., steps_loaded: _Optional[_Union[StepsLoaded, _Mapping]] = ..., result: _Optional[_Union[InvocationResult, _Mapping]] = ..., call: _Optional[_Union[Call, _Mapping]] = ..., ping: _Optional[_Union[Ping, _Mapping]] = ..., pong: _Optional[_Union[Pong, _Mapping]] = ..., cancelled: _Optional[_Union[Cancelled, _Mapping]] = ..., draining: _Optional[_Union[Draining, _Mapping]] = ...) -> None: ...

class CoreMessage(_message.Message):
    __slots__ = ("welcome", "refusal", "load_steps", "start", "call_reply", "ping", "pong", "shutdown", "cancel")
    WELCOME_FIELD_NUMBER: _ClassVar[int]
    REFUSAL_FIELD_NUMBER: _ClassVar[int]
    LOAD_STEPS_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    CALL_REPLY_FIELD_NUMBER: _ClassVar[int]
    PING_FIELD_NUMBER: _ClassVar[int]
    PONG_FIELD_NUMBER: _ClassVar[int]
    SHUTDOWN_FIELD_NUMBER: _ClassVar[int]
    CANCEL_FIELD_NUMBER: _ClassVar[int]
    welcome: Welcome
    refusal: Refusal
    load_steps: LoadSteps
    start: StartInvocation
    call_reply: CallReply
    ping: Ping
    pong: Pong
    shutdown: Shutdown
    cancel: Cancel
    def __init__(self, welcome: _Optional[_Union[Welcome, _Mapping]] = ..., refusal: _Optional[_Union[Refusal, _Mapping]] = ..., load_steps: _Optional[_Union[LoadSteps, _Mapping]] = ..., start: _Optional[_Union[StartInvocation, _Mapping]] = ..., call_reply: _Optional[_Union[CallReply, _Mapping]] = ..., ping: _Optional[_Union[Ping, _Mapping]] = ..., pong: _Optional[_Union[Pong, _Mapping]] = ..., shutdown: _Optional[_Union[Shutdown, _Mapping]] = ..., cancel: _Optional[_Union[Cancel, _Mapping]] = ...) -> None: ...

class Hello(_message.Message):
    __slots__ = ("protocol_min", "protocol_max", "runner_instance_id", "language", "runtime_version", "sdk_version", "concurrency_slots", "secret", "pid", "capabilities")
    PROTOCOL_MIN_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_MAX_FIELD_NUMBER: _ClassVar[int]
    RUNNER_INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    RUNTIME_VERSION_FIELD_NUMBER: _ClassVar[int]
    SDK_VERSION_FIELD_NUMBER: _ClassVar[int]
    CONCURRENCY_SLOTS_FIELD_NUMBER: _ClassVar[int]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    protocol_min: int
    protocol_max: int
    runner_instance_id: str
    language: str
    runtime_version: str
    sdk_version: str
    concurrency_slots: int
    secret: str
    pid: int
    capabilities: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, protocol_min: _Optional[int] = ..., protocol_max: _Optional[int] = ..., runner_instance_id: _Optional[str] = ..., language: _Optional[str] = ..., runtime_version: _Optional[str] = ..., sdk_version: _Optional[str] = ..., concurrency_slots: _Optional[int] = ..., secret: _Optional[str] = ..., pid: _Optional[int] = ..., capabilities: _Optional[_Iterable[str]] = ...) -> None: ...

class Welcome(_message.Message):
    __slots__ = ("protocol_version", "session_id", "max_message_bytes", "ping_interval_ms", "project_dir")
    PROTOCOL_VERSION_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    MAX_MESSAGE_BYTES_FIELD_NUMBER: _ClassVar[int]
    PING_INTERVAL_MS_FIELD_NUMBER: _ClassVar[int]
    PROJECT_DIR_FIELD_NUMBER: _ClassVar[int]
    protocol_version: int
    session_id: str
    max_message_bytes: int
    ping_interval_ms: int
    project_dir: str
    def __init__(self, protocol_version: _Optional[int] = ..., session_id: _Optional[str] = ..., max_message_bytes: _Optional[int] = ..., ping_interval_ms: _Optional[int] = ..., project_dir: _Optional[str] = ...) -> None: ...

class Refusal(_message.Message):
    __slots__ = ("code", "message", "core_protocol_min", "core_protocol_max")
    class Code(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        CODE_UNSPECIFIED: _ClassVar[Refusal.Code]
        CODE_VERSION_UNSUPPORTED: _ClassVar[Refusal.Code]
        CODE_BAD_SECRET: _ClassVar[Refusal.Code]
        CODE_NOT_HELLO: _ClassVar[Refusal.Code]
        CODE_DUPLICATE: _ClassVar[Refusal.Code]
    CODE_UNSPECIFIED: Refusal.Code
    CODE_VERSION_UNSUPPORTED: Refusal.Code
    CODE_BAD_SECRET: Refusal.Code
    CODE_NOT_HELLO: Refusal.Code
    CODE_DUPLICATE: Refusal.Code
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    CORE_PROTOCOL_MIN_FIELD_NUMBER: _ClassVar[int]
    CORE_PROTOCOL_MAX_FIELD_NUMBER: _ClassVar[int]
    code: Refusal.Code
    message: str
    core_protocol_min: int
    core_protocol_max: int
    def __init__(self, code: _Optional[_Union[Refusal.Code, str]] = ..., message: _Optional[str] = ..., core_protocol_min: _Optional[int] = ..., core_protocol_max: _Optional[int] = ...) -> None: ...

class LoadSteps(_message.Message):
    __slots__ = ("request_id", "files")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    request_id: int
    files: _containers.RepeatedCompositeFieldContainer[StepFile]
    def __init__(self, request_id: _Optional[int] = ..., files: _Optional[_Iterable[_Union[StepFile, _Mapping]]] = ...) -> None: ...

class StepFile(_message.Message):
    __slots__ = ("step_id", "path", "relative_path", "kind")
    STEP_ID_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    RELATIVE_PATH_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    step_id: str
    path: str
    relative_path: str
    kind: StepFileKind
    def __init__(self, step_id: _Optional[str] = ..., path: _Optional[str] = ..., relative_path: _Optional[str] = ..., kind: _Optional[_Union[StepFileKind, str]] = ...) -> None: ...

class StepsLoaded(_message.Message):
    __slots__ = ("request_id", "steps", "errors")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    request_id: int
    steps: _containers.RepeatedCompositeFieldContainer[StepManifest]
    errors: _containers.RepeatedCompositeFieldContainer[LoadError]
    def __init__(self, request_id: _Optional[int] = ..., steps: _Optional[_Iterable[_Union[StepManifest, _Mapping]]] = ..., errors: _Optional[_Iterable[_Union[LoadError, _Mapping]]] = ...) -> None: ...

class StepManifest(_message.Message):
    __slots__ = ("step_id", "config_json", "has_handler", "middleware_count")
    STEP_ID_FIELD_NUMBER: _ClassVar[int]
    CONFIG_JSON_FIELD_NUMBER: _ClassVar[int]
    HAS_HANDLER_FIELD_NUMBER: _ClassVar[int]
    MIDDLEWARE_COUNT_FIELD_NUMBER: _ClassVar[int]
    step_id: str
    config_json: bytes
    has_handler: bool
    middleware_count: int
    def __init__(self, step_id: _Optional[str] = ..., config_json: _Optional[bytes] = ..., has_handler: _Optional[bool] = ..., middleware_count: _Optional[int] = ...) -> None: ...

class LoadError(_message.Message):
    __slots__ = ("step_id", "message", "stack", "error_type")
    STEP_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    STACK_FIELD_NUMBER: _ClassVar[int]
    ERROR_TYPE_FIELD_NUMBER: _ClassVar[int]
    step_id: str
    message: str
    stack: str
    error_type: str
    def __init__(self, step_id: _Optional[str] = ..., message: _Optional[str] = ..., stack: _Optional[str] = ..., error_type: _Optional[str] = ...) -> None: ...

class StartInvocation(_message.Message):
    __slots__ = ("invocation_id", "step_id", "attempt", "fencing_token", "deadline_unix_ms", "trace_id", "flows", "trigger", "payload_json", "topic", "http_body")
    INVOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    STEP_ID_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    FENCING_TOKEN_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    TRACE_ID_FIELD_NUMBER: _ClassVar[int]
    FLOWS_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_JSON_FIELD_NUMBER: _ClassVar[int]
    TOPIC_FIELD_NUMBER: _ClassVar[int]
    HTTP_BODY_FIELD_NUMBER: _ClassVar[int]
    invocation_id: str
    step_id: str
    attempt: int
    fencing_token: int
    deadline_unix_ms: int
    trace_id: str
    flows: _containers.RepeatedScalarFieldContainer[str]
    trigger: Trigger
    payload_json: bytes
    topic: str
    http_body: HttpRequestBody
    def __init__(self, invocation_id: _Optional[str] = ..., step_id: _Optional[str] = ..., attempt: _Optional[int] = ..., fencing_token: _Optional[int] = ..., deadline_unix_ms: _Optional[int] = ..., trace_id: _Optional[str] = ..., flows: _Optional[_Iterable[str]] = ..., trigger: _Optional[_Union[Trigger, str]] = ..., payload_json: _Optional[bytes] = ..., topic: _Optional[str] = ..., http_body: _Optional[_Union[HttpRequestBody, _Mapping]] = ...) -> None: ...

class HttpRequestBody(_message.Message):
    __slots__ = ("raw", "content_type", "encoding")
    class Encoding(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        BODY_ENCODING_IN_PAYLOAD: _ClassVar[HttpRequestBody.Encoding]
        BODY_ENCODING_JSON: _ClassVar[HttpRequestBody.Encoding]
        BODY_ENCODING_TEXT: _ClassVar[HttpRequestBody.Encoding]
        BODY_ENCODING_BINARY: _ClassVar[HttpRequestBody.Encoding]
    BODY_ENCODING_IN_PAYLOAD: HttpRequestBody.Encoding
    BODY_ENCODING_JSON: HttpRequestBody.Encoding
    BODY_ENCODING_TEXT: HttpRequestBody.Encoding
    BODY_ENCODING_BINARY: HttpRequestBody.Encoding
    RAW_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    ENCODING_FIELD_NUMBER: _ClassVar[int]
    raw: bytes
    content_type: str
    encoding: HttpRequestBody.Encoding
    def __init__(self, raw: _Optional[bytes] = ..., content_type: _Optional[str] = ..., encoding: _Optional[_Union[HttpRequestBody.Encoding, str]] = ...) -> None: ...

class InvocationResult(_message.Message):
    __slots__ = ("invocation_id", "fencing_token", "completed", "failed")
    INVOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    FENCING_TOKEN_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    invocation_id: str
    fencing_token: int
    completed: Completed
    failed: Failed
    def __init__(self, invocation_id: _Optional[str] = ..., fencing_token: _Optional[int] = ..., completed: _Optional[_Union[Completed, _Mapping]] = ..., failed: _Optional[_Union[Failed, _Mapping]] = ...) -> None: ...

class Completed(_message.Message):
    __slots__ = ("payload_json", "http_response")
    PAYLOAD_JSON_FIELD_NUMBER: _ClassVar[int]
    HTTP_RESPONSE_FIELD_NUMBER: _ClassVar[int]
    payload_json: bytes
    http_response: HttpResponse
    def __init__(self, payload_json: _Optional[bytes] = ..., http_response: _Optional[_Union[HttpResponse, _Mapping]] = ...) -> None: ...

class HttpResponse(_message.Message):
    __slots__ = ("status", "headers_json", "body", "body_kind")
    class BodyKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        BODY_KIND_NONE: _ClassVar[HttpResponse.BodyKind]
        BODY_KIND_JSON: _ClassVar[HttpResponse.BodyKind]
        BODY_KIND_TEXT: _ClassVar[HttpResponse.BodyKind]
        BODY_KIND_BINARY: _ClassVar[HttpResponse.BodyKind]
    BODY_KIND_NONE: HttpResponse.BodyKind
    BODY_KIND_JSON: HttpResponse.BodyKind
    BODY_KIND_TEXT: HttpResponse.BodyKind
    BODY_KIND_BINARY: HttpResponse.BodyKind
    STATUS_FIELD_NUMBER: _ClassVar[int]
    HEADERS_JSON_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    BODY_KIND_FIELD_NUMBER: _ClassVar[int]
    status: int
    headers_json: bytes
    body: bytes
    body_kind: HttpResponse.BodyKind
    def __init__(self, status: _Optional[int] = ..., headers_json: _Optional[bytes] = ..., body: _Optional[bytes] = ..., body_kind: _Optional[_Union[HttpResponse.BodyKind, str]] = ...) -> None: ...

class Failed(_message.Message):
    __slots__ = ("error_type", "message", "stack", "non_retryable", "retry_after_ms", "kind")
    ERROR_TYPE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    STACK_FIELD_NUMBER: _ClassVar[int]
    NON_RETRYABLE_FIELD_NUMBER: _ClassVar[int]
    RETRY_AFTER_MS_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    error_type: str
    message: str
    stack: str
    non_retryable: bool
    retry_after_ms: int
    kind: FailureKind
    def __init__(self, error_type: _Optional[str] = ..., message: _Optional[str] = ..., stack: _Optional[str] = ..., non_retryable: _Optional[bool] = ..., retry_after_ms: _Optional[int] = ..., kind: _Optional[_Union[FailureKind, str]] = ...) -> None: ...

class Call(_message.Message):
    __slots__ = ("request_id", "invocation_id", "emit", "state_get", "state_set", "state_delete", "state_get_group", "state_clear", "log", "stream_get", "stream_set", "stream_delete", "stream_get_group", "stream_send")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    INVOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    EMIT_FIELD_NUMBER: _ClassVar[int]
    STATE_GET_FIELD_NUMBER: _ClassVar[int]
    STATE_SET_FIELD_NUMBER: _ClassVar[int]
    STATE_DELETE_FIELD_NUMBER: _ClassVar[int]
    STATE_GET_GROUP_FIELD_NUMBER: _ClassVar[int]
    STATE_CLEAR_FIELD_NUMBER: _ClassVar[int]
    LOG_FIELD_NUMBER: _ClassVar[int]
    STREAM_GET_FIELD_NUMBER: _ClassVar[int]
    STREAM_SET_FIELD_NUMBER: _ClassVar[int]
    STREAM_DELETE_FIELD_NUMBER: _ClassVar[int]
    STREAM_GET_GROUP_FIELD_NUMBER: _ClassVar[int]
    STREAM_SEND_FIELD_NUMBER: _ClassVar[int]
    request_id: int
    invocation_id: str
    emit: Emit
    state_get: StateGet
    state_set: StateSet
    state_delete: StateDelete
    state_get_group: StateGetGroup
    state_clear: StateClear
    log: Log
    stream_get: StreamGet
    stream_set: StreamSet
    stream_delete: StreamDelete
    stream_get_group: StreamGetGroup
    stream_send: StreamSend
    def __init__(self, request_id: _Optional[int] = ..., invocation_id: _Optional[str] = ..., emit: _Optional[_Union[Emit, _Mapping]] = ..., state_get: _Optional[_Union[StateGet, _Mapping]] = ..., state_set: _Optional[_Union[StateSet, _Mapping]] = ..., state_delete: _Optional[_Union[StateDelete, _Mapping]] = ..., state_get_group: _Optional[_Union[StateGetGroup, _Mapping]] = ..., state_clear: _Optional[_Union[StateClear, _Mapping]] = ..., log: _Optional[_Union[Log, _Mapping]] = ..., stream_get: _Optional[_Union[StreamGet, _Mapping]] = ..., stream_set: _Optional[_Union[StreamSet, _Mapping]] = ..., stream_delete: _Optional[_Union[StreamDelete, _Mapping]] = ..., stream_get_group: _Optional[_Union[StreamGetGroup, _Mapping]] = ..., stream_send: _Optional[_Union[StreamSend, _Mapping]] = ...) -> None: ...

class Emit(_message.Message):
    __slots__ = ("topic", "data_json", "message_group_id")
    TOPIC_FIELD_NUMBER: _ClassVar[int]
    DATA_JSON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    topic: str
    data_json: bytes
    message_group_id: str
    def __init__(self, topic: _Optional[str] = ..., data_json: _Optional[bytes] = ..., message_group_id: _Optional[str] = ...) -> None: ...

class StateGet(_message.Message):
    __slots__ = ("group_id", "key")
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    group_id: str
    key: str
    def __init__(self, group_id: _Optional[str] = ..., key: _Optional[str] = ...) -> None: ...

class StateSet(_message.Message):
    __slots__ = ("group_id", "key", "value_json")
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_JSON_FIELD_NUMBER: _ClassVar[int]
    group_id: str
    key: str
    value_json: bytes
    def __init__(self, group_id: _Optional[str] = ..., key: _Optional[str] = ..., value_json: _Optional[bytes] = ...) -> None: ...

class StateDelete(_message.Message):
    __slots__ = ("group_id", "key")
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    group_id: str
    key: str
    def __init__(self, group_id: _Optional[str] = ..., key: _Optional[str] = ...) -> None: ...

class StateGetGroup(_message.Message):
    __slots__ = ("group_id",)
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    group_id: str
    def __init__(self, group_id: _Optional[str] = ...) -> None: ...

class StateClear(_message.Message):
    __slots__ = ("group_id",)
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    group_id: str
    def __init__(self, group_id: _Optional[str] = ...) -> None: ...

class StreamGet(_message.Message):
    __slots__ = ("stream", "group_id", "id")
    STREAM_FIELD_NUMBER: _ClassVar[int]
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    stream: str
    group_id: str
    id: str
    def __init__(self, stream: _Optional[str] = ..., group_id: _Optional[str] = ..., id: _Optional[str] = ...) -> None: ...

class StreamSet(_message.Message):
    __slots__ = ("stream", "group_id", "id", "data_json")
    STREAM_FIELD_NUMBER: _ClassVar[int]
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    DATA_JSON_FIELD_NUMBER: _ClassVar[int]
    stream: str
    group_id: str
    id: str
    data_json: bytes
    def __init__(self, stream: _Optional[str] = ..., group_id: _Optional[str] = ..., id: _Optional[str] = ..., data_json: _Optional[bytes] = ...) -> None: ...

class StreamDelete(_message.Message):
    __slots__ = ("stream", "group_id", "id")
    STREAM_FIELD_NUMBER: _ClassVar[int]
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    stream: str
    group_id: str
    id: str
    def __init__(self, stream: _Optional[str] = ..., group_id: _Optional[str] = ..., id: _Optional[str] = ...) -> None: ...

class StreamGetGroup(_message.Message):
    __slots__ = ("stream", "group_id")
    STREAM_FIELD_NUMBER: _ClassVar[int]
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    stream: str
    group_id: str
    def __init__(self, stream: _Optional[str] = ..., group_id: _Optional[str] = ...) -> None: ...

class StreamSend(_message.Message):
    __slots__ = ("stream", "group_id", "id", "type", "data_json")
    STREAM_FIELD_NUMBER: _ClassVar[int]
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    DATA_JSON_FIELD_NUMBER: _ClassVar[int]
    stream: str
    group_id: str
    id: str
    type: str
    data_json: bytes
    def __init__(self, stream: _Optional[str] = ..., group_id: _Optional[str] = ..., id: _Optional[str] = ..., type: _Optional[str] = ..., data_json: _Optional[bytes] = ...) -> None: ...

class Log(_message.Message):
    __slots__ = ("level", "message", "fields_json", "time_unix_ms")
    class Level(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        LEVEL_UNSPECIFIED: _ClassVar[Log.Level]
        LEVEL_DEBUG: _ClassVar[Log.Level]
        LEVEL_INFO: _ClassVar[Log.Level]
        LEVEL_WARN: _ClassVar[Log.Level]
        LEVEL_ERROR: _ClassVar[Log.Level]
    LEVEL_UNSPECIFIED: Log.Level
    LEVEL_DEBUG: Log.Level
    LEVEL_INFO: Log.Level
    LEVEL_WARN: Log.Level
    LEVEL_ERROR: Log.Level
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    FIELDS_JSON_FIELD_NUMBER: _ClassVar[int]
    TIME_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    level: Log.Level
    message: str
    fields_json: bytes
    time_unix_ms: int
    def __init__(self, level: _Optional[_Union[Log.Level, str]] = ..., message: _Optional[str] = ..., fields_json: _Optional[bytes] = ..., time_unix_ms: _Optional[int] = ...) -> None: ...

class CallReply(_message.Message):
    __slots__ = ("request_id", "value_json", "error")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALUE_JSON_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    request_id: int
    value_json: bytes
    error: CallError
    def __init__(self, request_id: _Optional[int] = ..., value_json: _Optional[bytes] = ..., error: _Optional[_Union[CallError, _Mapping]] = ...) -> None: ...

class CallError(_message.Message):
    __slots__ = ("code", "message")
    class Code(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        CODE_UNSPECIFIED: _ClassVar[CallError.Code]
        CODE_INVALID_ARGUMENT: _ClassVar[CallError.Code]
        CODE_REJECTED: _ClassVar[CallError.Code]
        CODE_UNKNOWN_INVOCATION: _ClassVar[CallError.Code]
        CODE_INTERNAL: _ClassVar[CallError.Code]
        CODE_UNAVAILABLE: _ClassVar[CallError.Code]
    CODE_UNSPECIFIED: CallError.Code
    CODE_INVALID_ARGUMENT: CallError.Code
    CODE_REJECTED: CallError.Code
    CODE_UNKNOWN_INVOCATION: CallError.Code
    CODE_INTERNAL: CallError.Code
    CODE_UNAVAILABLE: CallError.Code
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: CallError.Code
    message: str
    def __init__(self, code: _Optional[_Union[CallError.Code, str]] = ..., message: _Optional[str] = ...) -> None: ...

class Ping(_message.Message):
    __slots__ = ("nonce",)
    NONCE_FIELD_NUMBER: _ClassVar[int]
    nonce: int
    def __init__(self, nonce: _Optional[int] = ...) -> None: ...

class Pong(_message.Message):
    __slots__ = ("nonce",)
    NONCE_FIELD_NUMBER: _ClassVar[int]
    nonce: int
    def __init__(self, nonce: _Optional[int] = ...) -> None: ...

class Cancel(_message.Message):
    __slots__ = ("invocation_id", "reason", "grace_ms")
    class Reason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        REASON_UNSPECIFIED: _ClassVar[Cancel.Reason]
        REASON_TIMEOUT: _ClassVar[Cancel.Reason]
        REASON_SHUTDOWN: _ClassVar[Cancel.Reason]
        REASON_CLIENT_GONE: _ClassVar[Cancel.Reason]
    REASON_UNSPECIFIED: Cancel.Reason
    REASON_TIMEOUT: Cancel.Reason
    REASON_SHUTDOWN: Cancel.Reason
    REASON_CLIENT_GONE: Cancel.Reason
    INVOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    GRACE_MS_FIELD_NUMBER: _ClassVar[int]
    invocation_id: str
    reason: Cancel.Reason
    grace_ms: int
    def __init__(self, invocation_id: _Optional[str] = ..., reason: _Optional[_Union[Cancel.Reason, str]] = ..., grace_ms: _Optional[int] = ...) -> None: ...

class Cancelled(_message.Message):
    __slots__ = ("invocation_id", "fencing_token")
    INVOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    FENCING_TOKEN_FIELD_NUMBER: _ClassVar[int]
    invocation_id: str
    fencing_token: int
    def __init__(self, invocation_id: _Optional[str] = ..., fencing_token: _Optional[int] = ...) -> None: ...

class Draining(_message.Message):
    __slots__ = ("reason",)
    REASON_FIELD_NUMBER: _ClassVar[int]
    reason: str
    def __init__(self, reason: _Optional[str] = ...) -> None: ...

class Shutdown(_message.Message):
    __slots__ = ("grace_ms", "reason")
    GRACE_MS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    grace_ms: int
    reason: str
    def __init__(self, grace_ms: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...
