"""The Python hop: writes the greeting and hands it on to Ruby."""

config = {
    "type": "event",
    "name": "Greet",
    "description": "Writes the greeting (Python)",
    "subscribes": ["hello.sent"],
    "emits": ["hello.greeted"],
    "input": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]},
    "flows": ["hello"],
}


async def handler(input, context):
    greeting = await context.state.get("greetings", context.trace_id) or {"hops": []}
    greeting["hops"].append("python")
    greeting["message"] = f"Hello, {input['name']}!"
    await context.state.set("greetings", context.trace_id, greeting)
    context.logger.info("greeting written", {"name": input["name"]})
    await context.emit({"topic": "hello.greeted", "data": {"message": greeting["message"]}})
