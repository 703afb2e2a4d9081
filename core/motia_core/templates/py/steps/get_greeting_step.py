"""GET /greetings/:traceId reads what the two other steps wrote."""

config = {
    "type": "api",
    "name": "GetGreeting",
    "description": "Reads a greeting by the trace id POST /hello answered",
    "method": "GET",
    "path": "/greetings/:traceId",
    "emits": [],
    "flows": ["hello"],
}


async def handler(req, context):
    greeting = await context.state.get("greetings", req["pathParams"]["traceId"])
    if greeting is None:
        return {"status": 404, "body": {"error": "no such greeting"}}
    return {"status": 200, "body": greeting}
