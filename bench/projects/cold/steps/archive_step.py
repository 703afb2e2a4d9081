config = {"type": "event", "name": "ColdArchive", "subscribes": ["cold.item.scored"], "emits": [], "flows": ["cold"]}


async def handler(input, context):
    context.logger.info("archived", {"id": input["id"]})
