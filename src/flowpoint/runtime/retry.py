"""Retry policies for steps: ``@step(retry_policy=ConstantDelayRetryPolicy(...))``."""

from __future__ import annotations


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
