# Payload scenario: the request body goes to the runner and comes back as the response body.
config = {"type": "api", "name": "EchoPy", "method": "POST", "path": "/echo/py", "emits": [], "flows": ["bench"]}


async def handler(req, context):
    return {"status": 200, "body": req["body"]}
