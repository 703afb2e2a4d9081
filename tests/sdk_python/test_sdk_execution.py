"""Middleware chains over async and def pieces, and what counts as an async callable."""

from __future__ import annotations

import asyncio
import functools
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from motia._execution import StepCallable, Trigger, is_async_callable, run_handler
from motia.testing import StepTestEnvironment


def test_is_async_callable() -> None:
    async def coro(a: int) -> None: ...

    def plain(a: int) -> None: ...

    class AsyncCall:
        async def __call__(self) -> None: ...

    class SyncCall:
        def __call__(self) -> None: ...

    assert is_async_callable(coro) and is_async_callable(functools.partial(coro, 1)) and is_async_callable(AsyncCall())
    assert not is_async_callable(plain) and not is_async_callable(SyncCall()) and not is_async_callable(print)


def _recorder(log: list[str], name: str, is_async: bool) -> Any:
    if is_async:

        async def amw(req: Any, ctx: Any, next_fn: Any) -> Any:
            log.append(f"{name}>")
            result = await next_fn()
            log.append(f"<{name}")
            return result

        return amw

    def smw(req: Any, ctx: Any, next_fn: Any) -> Any:
        log.append(f"{name}>{threading.current_thread().name}")
        result = next_fn()
        log.append(f"<{name}")
        return result

    return smw


async def test_mixed_chain_runs_in_order_and_uses_one_worker_thread() -> None:
    log: list[str] = []

    def handler(req: Any, ctx: Any) -> Any:
        log.append(f"handler:{threading.current_thread().name}")
        return {"status": 200, "body": ctx.state.get("g", "k")}

    chain = [_recorder(log, "a", False), _recorder(log, "b", True), _recorder(log, "c", False)]
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="only") as pool:
        env = StepTestEnvironment(state={"g": {"k": "v"}}, executor=pool)
        # With a single worker thread, a def middleware waiting in next_fn() must run the rest itself.
        result = await asyncio.wait_for(env.run_api(handler, middleware=chain), 5)
    assert result == {"status": 200, "body": "v"}
    assert log == ["a>only_0", "b>", "c>only_0", "handler:only_0", "<c", "<b", "<a"]


async def test_middleware_returning_next_without_await() -> None:
    async def lazy(req: Any, ctx: Any, next_fn: Any) -> Any:
        return next_fn()

    async def handler(req: Any, ctx: Any) -> Any:
        return {"status": 204, "body": None}

    assert await StepTestEnvironment().run_api(handler, middleware=[lazy]) == {"status": 204, "body": None}


async def test_def_handler_returning_a_coroutine_is_awaited() -> None:
    async def later(data: Any) -> Any:
        return {"late": data}

    def handler(data: Any, ctx: Any) -> Any:
        return later(data)

    assert await StepTestEnvironment().run_event(handler, 3) == {"late": 3}


async def test_middleware_is_ignored_for_events() -> None:
    async def never(req: Any, ctx: Any, next_fn: Any) -> Any:
        raise AssertionError("middleware ran for an event")

    async def handler(data: Any, ctx: Any) -> Any:
        return data

    ctx = StepTestEnvironment().context()
    result = await run_handler(Trigger.EVENT, StepCallable.of(handler), 5, ctx, middleware=[StepCallable.of(never)])
    assert result == 5
