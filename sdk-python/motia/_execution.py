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

A :class:`HandlerScope` follows the user code of one invocation so that the runner can stop it and
know when it has stopped: the worker threads running its ``def`` pieces (which cannot be
interrupted: they stop at their next context call, or when they return) and the tasks its
``def`` middleware started on the loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import enum
import functools
import inspect
import queue
import threading
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from concurrent.futures import Executor
from typing import Any

from ._context import Context
from ._errors import InvocationCancelledError


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


class HandlerScope:
    """The user code one invocation runs outside its own task: ``def`` pieces on worker threads and
    the tasks that a ``def`` middleware's ``next_fn()`` starts on the loop.

    :meth:`stop` refuses to start more of it (a ``def`` piece not started yet raises
    :class:`InvocationCancelledError` instead of running) and cancels those tasks; :meth:`wait_stopped`
    then waits until the last worker thread returned. Cancelling the invocation's own task (which
    interrupts ``async def`` code) is the caller's job. Make one per invocation, on its event loop.
    """

    __slots__ = ("_changed", "_lock", "_stopped", "_tasks", "_threads", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.loop = loop if loop is not None else asyncio.get_running_loop()
        self._lock = threading.Lock()
        self._threads = 0  # def pieces running on worker threads (nested ones counted too)
        self._stopped: str | None = None  # the cancel reason once stopped
        self._tasks: set[asyncio.Task[Any]] = set()  # touched on the loop thread only
        self._changed: asyncio.Event | None = None

    @property
    def stopping(self) -> bool:
        """True once :meth:`stop` was called."""
        return self._stopped is not None

    @property
    def idle(self) -> bool:
        """No worker thread and no tracked task of the invocation is running."""
        with self._lock:
            return self._threads == 0 and not self._tasks

    def stop(self, reason: str = "cancelled") -> None:
        """Start no more user code of this invocation and cancel its tracked tasks (loop thread)."""
        with self._lock:
            if self._stopped is None:
                self._stopped = reason
        for task in list(self._tasks):
            task.cancel()

    async def wait_stopped(self) -> None:
        """After :meth:`stop`: wait until the invocation's threads returned and its tasks ended.

        Returns one loop turn later, so that what a thread scheduled onto the loop on its way out
        (a log line from a ``finally``) has been handled first.
        """
        if self._changed is None:
            self._changed = asyncio.Event()
        while True:
            self._changed.clear()
            if self.idle:
                break
            await self._changed.wait()
        # A thread enqueued its call_soon_threadsafe callbacks before it gave up its count; they
        # are ahead of this task's next step in the ready queue.
        await asyncio.sleep(0)

    def cancelled_error(self) -> InvocationCancelledError:
        return InvocationCancelledError(self._stopped or "cancelled")

    def in_thread(self, fn: Callable[[], Any]) -> Callable[[], Any]:
        """``fn`` wrapped to run on a worker thread as part of this invocation."""

        def run() -> Any:
            with self._lock:
                if self._stopped is not None:
                    raise InvocationCancelledError(self._stopped)
                self._threads += 1
            try:
                return fn()
            finally:
                with self._lock:
                    self._threads -= 1
                    last = self._threads == 0 and self._stopped is not None
                if last:  # only a stopped scope has a waiter to wake
                    try:
                        self.loop.call_soon_threadsafe(self._notify)
                    except RuntimeError:  # the loop is closed: the process is ending
                        pass

        return run

    async def track(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """Run ``coro`` (scheduled on the loop from a worker thread) as a task that :meth:`stop` cancels."""
        if self._stopped is not None:
            coro.close()
            raise self.cancelled_error()
        task = asyncio.current_task()
        if task is None:  # pragma: no cover - run_coroutine_threadsafe always makes a task
            return await coro
        self._tasks.add(task)
        try:
            return await coro
        finally:
            self._tasks.discard(task)
            self._notify()

    def _notify(self) -> None:
        if self._changed is not None:
            self._changed.set()


class _Runner:
    """One invocation's call path through its middleware and handler."""

    __slots__ = ("args", "executor", "handler", "loop", "middleware", "parked", "scope")

    def __init__(
        self,
        handler: StepCallable,
        middleware: Sequence[StepCallable],
        args: tuple[Any, ...],
        loop: asyncio.AbstractEventLoop,
        executor: Executor | None,
        scope: HandlerScope | None = None,
    ) -> None:
        self.handler = handler
        self.middleware = middleware
        self.args = args
        self.loop = loop
        self.executor = executor
        self.scope = scope if scope is not None else HandlerScope(loop)
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
            self.parked[-1].put((self.scope.in_thread(functools.partial(piece.fn, *args)), future))
            result = await future
        else:
            work = self.scope.in_thread(functools.partial(piece.fn, *args))
            result = await self.loop.run_in_executor(self.executor, work)
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
            outer = asyncio.run_coroutine_threadsafe(self.scope.track(coro), self.loop)
            outer.add_done_callback(lambda _: inbox.put(None))
            while (work := inbox.get()) is not None:
                fn, future = work
                try:
                    value = fn()
                except BaseException as exc:  # handed to the awaiting coroutine, like run_in_executor does
                    self.loop.call_soon_threadsafe(_settle, future, None, exc)
                else:
                    self.loop.call_soon_threadsafe(_settle, future, value, None)
            try:
                return outer.result()
            except concurrent.futures.CancelledError:
                if self.scope.stopping:  # the invocation was cancelled: say so (not an Exception)
                    raise self.scope.cancelled_error() from None
                raise
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
    scope: HandlerScope | None = None,
) -> Any:
    """Run one invocation on the running loop and return the handler's (or a middleware's) result.

    Pass a ``scope`` to be able to stop the invocation's threads and tasks (see :class:`HandlerScope`).
    """
    args = (context,) if trigger is Trigger.CRON else (payload, context)
    chain = middleware if trigger is Trigger.API else ()
    if handler.is_async and not chain:
        # The common case (an async handler alone) runs on this task exactly as _Runner.run would
        # run it, without building a _Runner per invocation.
        result = await handler.fn(*args)
        if type(result) is not dict and inspect.isawaitable(result):  # a plain dict never is
            result = await result
        return result
    return await _Runner(handler, chain, args, asyncio.get_running_loop(), executor, scope).run()


async def run_callable(
    fn: StepCallable, args: Sequence[Any], *, executor: Executor | None = None, scope: HandlerScope | None = None
) -> Any:
    """Call a user function that is not a handler (e.g. a stream's ``canAccess``) with ``args``, the way
    handlers are called: ``async def`` on the loop, ``def`` in ``executor``; awaitable results awaited."""
    return await _Runner(fn, (), tuple(args), asyncio.get_running_loop(), executor, scope).run()
