"""`types.d.ts` in Motia's shape: the `Handlers` interface keyed by step name and the typed
`ctx.streams`, both as augmentations of the `motia` module (sdk-node/src/types), so a step written

    export const handler: Handlers['StartOrder'] = async (req, { emit }) => { ... }

gets its request body, its responses by status and its emits (topic plus the subscribers' `input`)
checked by `tsc --strict`. Output is sorted by step and stream name: the same project gives the
same bytes, so the file can be committed and diffed.
"""

from __future__ import annotations

from collections.abc import Sequence

from motia_core.steps import Step, StepType
from motia_core.streams.config import StreamDef
from motia_core.typegen.schema import HEADER, Schema, emit_topics, response_schemas
from motia_core.typegen.ts_schema import TsConverter, top_level_operator, ts_string, union

_IMPORTS = "import type { ApiResponse, ApiRouteHandler, CronHandler, EventHandler, MotiaStream } from 'motia'"


def render_ts(steps: Sequence[Step], streams: Sequence[StreamDef], auth_context: Schema | None = None) -> str:
    """`auth_context`: the stream auth hook's `contextSchema`, typed as `StreamAuthContext`."""
    lines = [
        "/**",
        f" * {HEADER}.",
        " * Types of this project's step handlers and streams, from their configs' schemas.",
        " * Regenerate after changing a config: `motia-core generate-types`.",
        " */",
        _IMPORTS,
        "",
        "declare module 'motia' {",
        "  interface FlowContextStateStreams {",
    ]
    for stream in sorted(streams, key=lambda d: d.name):
        if stream.hidden:
            continue
        item = TsConverter(stream.schema or True).convert(stream.schema)
        lines.append(f"    {ts_string(stream.name)}: MotiaStream<{item}>")
    lines.append("  }")
    if auth_context is not None:
        context = TsConverter(auth_context).convert(auth_context)
        # an interface can only extend an object type: a union context (rare) stays unknown-ish
        if context.startswith("{") and not top_level_operator(context):
            lines += ["", f"  interface StreamAuthContext {context}"]
    lines += ["", "  interface Handlers {"]
    for step in sorted(steps, key=lambda s: s.name):
        handler = _handler(step, steps)
        if handler is not None:
            lines.append(f"    {ts_string(step.name)}: {handler}")
    lines += ["  }", "}", ""]
    return "\n".join(lines)


def _handler(step: Step, steps: Sequence[Step]) -> str | None:
    emits = _emits(step, steps)
    if step.type is StepType.API:
        body = (
            TsConverter(step.body_schema).convert(step.body_schema)
            if step.body_schema is not None
            else "Record<string, unknown>"  # Motia's choice for a route without bodySchema
        )
        responses = [
            f"ApiResponse<{status}, {TsConverter(schema if schema is not None else True).convert(schema)}>"
            for status, schema in response_schemas(step)
        ]
        response = " | ".join(responses) if responses else "ApiResponse<number, unknown>"
        return f"ApiRouteHandler<{body}, {response}, {emits}>"
    if step.type is StepType.EVENT:
        data = TsConverter(step.input_schema).convert(step.input_schema) if step.input_schema else "unknown"
        return f"EventHandler<{data}, {emits}>"
    if step.type is StepType.CRON:
        return f"CronHandler<{emits}>"
    return None  # noop steps have no handler


def _emits(step: Step, steps: Sequence[Step]) -> str:
    """The union of what `ctx.emit` accepts; `never` when the step declares no topic (as in Motia:
    typed code must declare what it emits)."""
    parts = []
    for t in emit_topics(step, steps):
        datas = [TsConverter(schema).convert(schema) for schema in t.inputs]
        # every subscriber gets the same data, so it must satisfy all of their schemas
        data = datas[0] if len(datas) == 1 else " & ".join(f"({d})" for d in datas)
        field = f"data: {data}" if data else "data?: unknown"
        group = "messageGroupId: string" if t.fifo else "messageGroupId?: string"
        parts.append(f"{{ topic: {ts_string(t.topic)}; {field}; {group} }}")
    return union(parts)
