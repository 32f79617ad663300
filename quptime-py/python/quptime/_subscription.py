"""Transitions for Python: :class:`Subscription` (an iterator, an async
iterator and ``get(timeout)``) and the :class:`TransitionCallback` handle.

Blocking waits happen in the native part with the GIL released; async
iteration waits on a small thread pool created on first use, never at
import."""

from __future__ import annotations

import concurrent.futures
import threading
from typing import AsyncIterator, Iterator, Optional, Tuple

from quptime import _native
from quptime._types import Duration, Transition, seconds

_lock = threading.Lock()
_pool: Optional[concurrent.futures.ThreadPoolExecutor] = None


def _async_pool() -> concurrent.futures.ThreadPoolExecutor:
    """The threads async iteration waits on (created on first use)."""
    global _pool
    with _lock:
        if _pool is None:
            _pool = concurrent.futures.ThreadPoolExecutor(
                max_workers=32, thread_name_prefix="quptime-async"
            )
        return _pool



class Subscription:
    """Transitions committed from the moment of :meth:`Cluster.subscribe`,
    in order. Iterate it (``for t in sub``, blocking) or ``async for t in
    sub``; the iteration ends when the node shuts down."""

    def __init__(self, native: _native.Subscription) -> None:
        self._native = native
        self._pending: Optional["concurrent.futures.Future[Tuple[int, Optional[str]]]"] = None

    def get(self, timeout: Optional[Duration] = None) -> Optional[Transition]:
        """The next transition, waiting up to ``timeout`` (seconds or text
        such as ``"500ms"``; forever when ``None``); ``None`` on timeout. Raises :class:`Shutdown` once the
        node has stopped."""
        wait = None if timeout is None else seconds(timeout, "timeout")
        status, payload = self._native.next(wait)
        if status == 0 and payload is not None:
            return Transition.from_json(payload)
        if status == 1:
            return None
        from quptime.errors import Shutdown

        raise Shutdown("the node has stopped; no more transitions will come")

    @property
    def missed(self) -> int:
        """Transitions skipped because this subscriber fell behind."""
        return self._native.missed

    def __iter__(self) -> Iterator[Transition]:
        return self

    def __next__(self) -> Transition:
        status, payload = self._native.next(None)
        if status == 0 and payload is not None:
            return Transition.from_json(payload)
        raise StopIteration

    def __aiter__(self) -> AsyncIterator[Transition]:
        return self

    async def __anext__(self) -> Transition:
        import asyncio

        while True:
            # A wait cancelled by the caller (asyncio.wait_for, task.cancel)
            # keeps running and is awaited by the next call, so a transition
            # it pulls is never lost.
            if self._pending is None:
                self._pending = _async_pool().submit(self._native.next, 0.2)
            status, payload = await asyncio.shield(asyncio.wrap_future(self._pending))
            self._pending = None
            if status == 0 and payload is not None:
                return Transition.from_json(payload)
            if status == 2:
                raise StopAsyncIteration


class TransitionCallback:
    """The handle :meth:`Cluster.on_transition` returns."""

    def __init__(self, native: _native.Dispatcher) -> None:
        self._native = native

    def stop(self) -> None:
        """Stop calling the callback (a call in flight finishes first)."""
        self._native.stop()
