"""A Python event step: writes the greeting for every hello.sent."""

config = {
    "type": "event",
    "name": "Greet",
    "description": "Writes the greeting",
    "subscribes": ["hello.sent"],
    "emits": [],
    "input": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]},
    "flows": ["hello"],
}


async def handler(input, context):
    greeting = await context.state.get("greetings", context.trace_id) or {"hops": []}
    greeting["hops"].append("python")
    greeting.update(status="greeted", message=f"Hello, {input['name']}!")
    await context.state.set("greetings", context.trace_id, greeting)
    context.logger.info("greeted", {"name": input["name"]})
