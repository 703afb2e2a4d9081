# API step that logs one line per request (info, one field): what recording a log line costs, with
# `serve` recording (the default) against `serve --no-record` (bench: the recording pair).
config = {"type": "api", "name": "LogPy", "method": "GET", "path": "/log/py", "emits": [], "flows": ["bench"]}


async def handler(req, context):
    context.logger.info("bench request handled", {"lang": "py"})
    return {"status": 200, "body": {"ok": True}}
