"""Unit test of the Python hop with motia.testing (run with `python -m pytest`); test/e2e.test.mjs runs all three."""

import asyncio

from motia.testing import StepTestEnvironment

from steps import greet_step


def test_greet_writes_the_greeting_and_hands_it_on() -> None:
    env = StepTestEnvironment()
    env.state.set("greetings", env.trace_id, {"name": "Ada", "hops": ["typescript"]})
    asyncio.run(env.run_event(greet_step.handler, {"name": "Ada"}))
    assert env.state.get("greetings", env.trace_id)["hops"] == ["typescript", "python"]
    assert env.emitted("hello.greeted") == [{"message": "Hello, Ada!"}]
