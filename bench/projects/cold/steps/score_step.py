config = {
    "type": "event",
    "name": "ColdScore",
    "subscribes": ["cold.item.created"],
    "emits": ["cold.item.scored"],
    "flows": ["cold"],
}


async def handler(input, context):
    await context.state.set("scores", input["id"], {"score": len(input["id"])})
    await context.emit({"topic": "cold.item.scored", "data": input})
