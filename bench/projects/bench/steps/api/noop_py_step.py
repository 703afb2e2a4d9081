# API no-op in Python.
config = {"type": "api", "name": "NoopPy", "method": "GET", "path": "/noop/py", "emits": [], "flows": ["bench"]}


async def handler(req, context):
    return {"status": 200, "body": {"ok": True}}
