"""Unit tests of the steps with motia.testing: handlers run with a real context over in-memory state.

Run with `python -m pytest` from the project folder (motia-core installs the `motia` package)."""

import asyncio

from motia.testing import StepTestEnvironment

from steps import get_greeting_step, greet_step, hello_step


def test_hello_stores_the_name_and_emits() -> None:
    env = StepTestEnvironment()
    result = asyncio.run(env.run_api(hello_step.handler, body={"name": "Ada"}))
    assert result["status"] == 202
    assert env.emitted("hello.sent") == [{"name": "Ada"}]
    assert env.state.get("greetings", env.trace_id)["status"] == "received"


def test_greet_writes_the_greeting() -> None:
    env = StepTestEnvironment()
    env.state.set("greetings", env.trace_id, {"name": "Ada", "hops": ["python"]})
    asyncio.run(env.run_event(greet_step.handler, {"name": "Ada"}))
    greeting = env.state.get("greetings", env.trace_id)
    assert greeting["message"] == "Hello, Ada!"
    assert greeting["hops"] == ["python", "python"]


def test_unknown_greeting_is_404() -> None:
    env = StepTestEnvironment()
    result = asyncio.run(env.run_api(get_greeting_step.handler, path_params={"traceId": "nope"}))
    assert result["status"] == 404
