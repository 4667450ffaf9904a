"""Retry policies for steps (``@step(retry_policy=ConstantDelayRetryPolicy(...))``) and the
call of a step under its policy."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import time
from collections.abc import Callable
from typing import Any


class ConstantDelayRetryPolicy:
    """Retry a failing step after a fixed delay, up to ``maximum_attempts`` attempts in all."""

    def __init__(self, delay: float = 5.0, maximum_attempts: int = 3) -> None:
        if maximum_attempts < 1 or delay < 0:
            raise ValueError("need delay >= 0 and maximum_attempts >= 1")
        self.delay = delay
        self.maximum_attempts = maximum_attempts

    def next(self, elapsed_time: float, attempts: int, error: Exception) -> float | None:
        """Seconds to wait before the next attempt, or None to give up and fail the run."""
        return self.delay if attempts < self.maximum_attempts else None


async def call_with_retries(bound: Callable[..., Any], kwargs: dict[str, Any], is_async: bool,
                            policy: Any) -> Any:
    """Call a step (a ``def`` step in a thread, with the caller's context variables) until it
    returns or ``policy`` gives up, waiting the delay the policy asks for between attempts."""
    attempts = 0
    first = time.monotonic()
    while True:
        try:
            if is_async:
                return await bound(**kwargs)
            call = functools.partial(contextvars.copy_context().run, bound, **kwargs)
            return await asyncio.get_running_loop().run_in_executor(None, call)
        except Exception as exc:
            attempts += 1
            delay = policy.next(time.monotonic() - first, attempts, exc) if policy else None
            if delay is None:
                raise
            await asyncio.sleep(delay)
