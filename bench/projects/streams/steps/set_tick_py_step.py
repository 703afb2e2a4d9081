# Streams scenario, Python writer: one ctx.streams set per request, pushed to every client of the group.
# The body is {groupId, id, seq, sentAt}; sentAt is the driver's clock (µs) just before it sent the request.
config = {"type": "api", "name": "SetTickPy", "method": "POST", "path": "/ticks/py", "emits": [], "flows": ["bench"]}


async def handler(req, context):
    body = req["body"]
    await context.streams.ticks.set(body["groupId"], body["id"], {"seq": body["seq"], "sentAt": body["sentAt"]})
    return {"status": 200, "body": {"ok": True}}
