"""A Python API step: POST /hello stores the name and hands it to the greeter."""

config = {
    "type": "api",
    "name": "SayHello",
    "description": "Accepts a name and hands it to the greeter",
    "method": "POST",
    "path": "/hello",
    "bodySchema": {
        "type": "object",
        "properties": {"name": {"type": "string", "minLength": 1}},
        "required": ["name"],
    },
    "emits": ["hello.sent"],
    "flows": ["hello"],
}


async def handler(req, context):
    name = req["body"]["name"]
    await context.state.set("greetings", context.trace_id, {"name": name, "status": "received", "hops": ["python"]})
    context.logger.info("hello received", {"name": name})
    await context.emit({"topic": "hello.sent", "data": {"name": name}})
    return {"status": 202, "body": {"traceId": context.trace_id}}
