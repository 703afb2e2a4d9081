config = {
    "type": "event",
    "name": "ProcessMessage",
    "description": "Analyses the message in Python",
    "subscribes": ["message.sent"],
    "emits": ["message.processed"],
    "input": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
    "flows": ["messaging"],
}


async def handler(input, context):
    message = await context.state.get("messages", context.trace_id)
    words = len(input["text"].split())
    message["hops"].append("python")
    message["words"] = words
    await context.state.set("messages", context.trace_id, message)
    context.logger.info("Message processed", {"words": words})
    await context.emit({"topic": "message.processed", "data": {"words": words}})
