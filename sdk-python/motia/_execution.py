"""Running one handler: the middleware chain, ``async def`` vs ``def``, and the trigger's arguments.

Shared by the runner and :mod:`motia.testing` so that a test runs a handler exactly as production
does:

* ``async def`` handlers and middleware run on the event loop;
* ``def`` handlers and middleware run in a thread pool (``executor``; ``None`` = the loop's default),
  where context calls block and return values. When a ``def`` middleware calls ``next_fn()``, its
  worker thread waits for the rest of the chain and meanwhile runs the chain's ``def`` pieces
  itself (``async def`` pieces go back to the loop), so one invocation never holds more than one
  worker thread and nested ``def`` middleware cannot starve the pool.
* API: ``handler(req, ctx)`` after ``config["middleware"]`` (``mw(req, ctx, next_fn)``); event:
  ``handler(data, ctx)``; cron: ``handler(ctx)``. Middleware applies to API steps only.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import functools
import inspect
import queue
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from concurrent.futures import Executor
from typing import Any

from ._context import Context


class Trigger(enum.Enum):
    """What started an invocation; decides the handler's arguments."""

    API = "api"  # handler(req, ctx), after the middleware chain
    EVENT = "event"  # handler(data, ctx)
    CRON = "cron"  # handler(ctx)


def is_async_callable(fn: Callable[..., Any]) -> bool:
    """True for ``async def`` functions, partials of them and objects with an ``async def __call__``."""
    while isinstance(fn, functools.partial):
        fn = fn.func
    if inspect.iscoroutinefunction(fn):
        return True
    if inspect.isfunction(fn) or inspect.ismethod(fn) or inspect.isbuiltin(fn) or isinstance(fn, type):
        return False
    return inspect.iscoroutinefunction(type(fn).__call__)


@dataclasses.dataclass(frozen=True)
class StepCallable:
    """A handler or middleware with its kind decided once, at load time."""

    fn: Callable[..., Any]
    is_async: bool

    @classmethod
    def of(cls, fn: Callable[..., Any]) -> StepCallable:
        return cls(fn, is_async_callable(fn))


async def _await_value(value: Awaitable[Any]) -> Any:
    return await value


_Work = tuple[Callable[[], Any], "asyncio.Future[Any]"]


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class _Runner:
    """One invocation's call path through its middleware and handler."""

    __slots__ = ("args", "executor", "handler", "loop", "middleware", "parked")

    def __init__(
        self,
        handler: StepCallable,
        middleware: Sequence[StepCallable],
        args: tuple[Any, ...],
        loop: asyncio.AbstractEventLoop,
        executor: Executor | None,
    ) -> None:
        self.handler = handler
        self.middleware = middleware
        self.args = args
        self.loop = loop
        self.executor = executor
        # Inboxes of worker threads blocked in a def middleware's next_fn(), innermost last.
        self.parked: list[queue.SimpleQueue[_Work | None]] = []

    def _piece(self, index: int, next_fn: Callable[[int], Any]) -> tuple[StepCallable, tuple[Any, ...]]:
        if index == len(self.middleware):
            return self.handler, self.args
        return self.middleware[index], (*self.args, functools.partial(next_fn, index + 1))

    async def run(self, index: int = 0) -> Any:
        """Run the chain from ``index`` on the event loop."""
        if index < len(self.middleware) and not self.middleware[index].is_async:
            piece, args = self._piece(index, self.run_blocking)
        else:
            piece, args = self._piece(index, self.run)
        if piece.is_async:
            result = await piece.fn(*args)
        elif self.parked:
            future: asyncio.Future[Any] = self.loop.create_future()
            self.parked[-1].put((functools.partial(piece.fn, *args), future))
            result = await future
        else:
            result = await self.loop.run_in_executor(self.executor, functools.partial(piece.fn, *args))
        if inspect.isawaitable(result):  # e.g. `return next_fn()` without await, or a def returning a coroutine
            result = await result
        return result

    def run_blocking(self, index: int) -> Any:
        """Run the chain from ``index`` on this worker thread (the ``next_fn`` of a def middleware)."""
        piece, args = self._piece(index, self.run_blocking)
        if piece.is_async:
            return self._park(self.run(index))
        result = piece.fn(*args)
        if inspect.isawaitable(result):
            result = self._park(_await_value(result))
        return result

    def _park(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """Run ``coro`` on the loop; until it ends, run the def pieces it hands to this thread."""
        inbox: queue.SimpleQueue[_Work | None] = queue.SimpleQueue()
        self.parked.append(inbox)
        try:
            outer = asyncio.run_coroutine_threadsafe(coro, self.loop)
            outer.add_done_callback(lambda _: inbox.put(None))
            while (work := inbox.get()) is not None:
                fn, future = work
                try:
                    value = fn()
                except BaseException as exc:  # handed to the awaiting coroutine, like run_in_executor does
                    self.loop.call_soon_threadsafe(_settle, future, None, exc)
                else:
                    self.loop.call_soon_threadsafe(_settle, future, value, None)
            return outer.result()
        finally:
            self.parked.remove(inbox)


async def run_handler(
    trigger: Trigger,
    handler: StepCallable,
    payload: Any,
    context: Context,
    *,
    middleware: Sequence[StepCallable] = (),
    executor: Executor | None = None,
) -> Any:
    """Run one invocation on the running loop and return the handler's (or a middleware's) result."""
    loop = asyncio.get_running_loop()
    if trigger is Trigger.CRON:
        return await _Runner(handler, (), (context,), loop, executor).run()
    chain = middleware if trigger is Trigger.API else ()
    return await _Runner(handler, chain, (payload, context), loop, executor).run()


async def run_callable(fn: StepCallable, args: Sequence[Any], *, executor: Executor | None = None) -> Any:
    """Call a user function that is not a handler (e.g. a stream's ``canAccess``) with ``args``, the way
    handlers are called: ``async def`` on the loop, ``def`` in ``executor``; awaitable results awaited."""
    return await _Runner(fn, (), tuple(args), asyncio.get_running_loop(), executor).run()
