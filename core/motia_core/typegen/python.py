"""`motia_types.py`: the Python twin of types.d.ts, so mypy catches in a Python step what tsc
catches in a TypeScript one. Per step (names from the step name, `PlaceOrder`):

    PlaceOrderBody / PlaceOrderRequest / PlaceOrderResponse   API steps (responses by status)
    PlaceOrderInput                                           event steps (the `input` schema)
    PlaceOrderEmit                                            what ctx.emit accepts (topic + data)
    PlaceOrderContext                                         ctx, with that typed emit
    PlaceOrderHandler                                         the handler's whole signature

and `<Stream>Item` per stream. A step annotates its handler with them:

    async def handler(req: PlaceOrderRequest, ctx: PlaceOrderContext) -> PlaceOrderResponse: ...
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from motia_core.steps import Step, StepType
from motia_core.streams.config import StreamDef
from motia_core.typegen.py_schema import PyModule, union
from motia_core.typegen.schema import HEADER, emit_topics, pascal, response_schemas

_PRELUDE = f'''"""{HEADER}.

Types of this project's step handlers and streams, from their configs' schemas.
Regenerate after changing a config: `motia-core generate-types --python <this file>`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Literal, Never, NotRequired, Protocol, TypeAlias, TypedDict

from motia import Logger, StateManager, Streams

__all__: list[str] = []  # nothing is meant for `import *`: name the types you use
'''

_CONTEXT = '''

class {name}(Protocol):
    """ctx of {step}: emit accepts only the topics the step declares, with their subscribers' data."""

    @property
    def trace_id(self) -> str: ...
    @property
    def traceId(self) -> str: ...
    @property
    def flows(self) -> list[str]: ...
    @property
    def logger(self) -> Logger: ...
    @property
    def state(self) -> StateManager: ...
    @property
    def streams(self) -> Streams: ...
    def emit(self, event: {emit}) -> Coroutine[Any, Any, None]: ...
'''


def render_python(steps: Sequence[Step], streams: Sequence[StreamDef]) -> str:
    module = PyModule()
    blocks: list[str] = []
    for stream in sorted(streams, key=lambda d: d.name):
        if stream.hidden:
            continue
        item = module.name(pascal(stream.name) + "Item")
        t = module.convert(stream.schema, item + "Fields")
        module.lines.append(f"{item}: TypeAlias = {t}")
    for step in sorted(steps, key=lambda s: s.name):
        if step.type is not StepType.NOOP:
            _step(module, step, steps, blocks)
    out = [_PRELUDE, "", *module.lines, *blocks]
    return "\n".join(out).rstrip() + "\n"


def _step(module: PyModule, step: Step, steps: Sequence[Step], blocks: list[str]) -> None:
    p = pascal(step.name)
    emit = module.name(p + "Emit")
    options = []
    for t in emit_topics(step, steps):
        name = module.name(p + "Emit" + pascal(t.topic))
        datas = [module.convert(schema, name + "Data") for schema in t.inputs]
        # the data must satisfy every subscriber; Python has no intersection, so the first one types it
        data = datas[0] if datas else "NotRequired[Any]"
        group = "str" if t.fifo else "NotRequired[str]"
        module.lines.append(
            f"{name} = TypedDict({json.dumps(name)}, "
            f'{{"topic": Literal[{json.dumps(t.topic)}], "data": {data}, "messageGroupId": {group}}})'
        )
        options.append(name)
    module.lines.append(f"{emit}: TypeAlias = {union(options)}")
    context = module.name(p + "Context")
    handler = module.name(p + "Handler")
    if step.type is StepType.API:
        body = module.name(p + "Body")
        body_t = module.convert(step.body_schema, body + "Fields") if step.body_schema is not None else "Any"
        module.lines.append(f"{body}: TypeAlias = {body_t}")
        request = module.name(p + "Request")
        module.lines.append(
            f"{request} = TypedDict({json.dumps(request)}, {{"
            f'"body": {body}, "headers": dict[str, str | list[str]], "pathParams": dict[str, str], '
            f'"queryParams": dict[str, str | list[str]], "rawBody": NotRequired[str]}})'
        )
        responses = []
        for status, schema in response_schemas(step):
            name = module.name(f"{p}Response{status}")
            body_type = module.convert(schema, name + "Body")
            module.lines.append(_response(name, f"Literal[{status}]", body_type))
            responses.append(name)
        response = module.name(p + "Response")
        if responses:
            module.lines.append(f"{response}: TypeAlias = {union(responses)}")
        else:
            module.lines.append(_response(response, "int", "Any"))
        signature = f"Callable[[{request}, {context}], Awaitable[{response}]]"
    elif step.type is StepType.EVENT:
        input_name = module.name(p + "Input")
        module.lines.append(f"{input_name}: TypeAlias = {module.convert(step.input_schema, input_name + 'Fields')}")
        signature = f"Callable[[{input_name}, {context}], Awaitable[None]]"
    else:
        signature = f"Callable[[{context}], Awaitable[None]]"
    blocks.append(_CONTEXT.format(name=context, step=step.name, emit=emit))
    blocks.append(f"\n{handler}: TypeAlias = {signature}")


def _response(name: str, status: str, body: str) -> str:
    return (
        f'{name} = TypedDict({json.dumps(name)}, {{"status": {status}, "body": {body}, '
        f'"headers": NotRequired[dict[str, str]]}})'
    )
