# Event chain, hop 2 (Python).
config = {
    "type": "event",
    "name": "ChainHopPy",
    "subscribes": ["bench.chain.b"],
    "emits": ["bench.chain.c"],
    "flows": ["bench-chain"],
}


async def handler(input, context):
    await context.emit({"topic": "bench.chain.c", "data": input})
