config = {"type": "api", "name": "ColdReport", "method": "GET", "path": "/report", "emits": [], "flows": ["cold"]}


async def handler(req, context):
    return {"status": 200, "body": {"scores": await context.state.get_group("scores")}}
