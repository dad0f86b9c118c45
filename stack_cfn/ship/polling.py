"""Wait for something to end: look, say each new state once, give up past a deadline with one line, look again.

`stack-cfn run --follow` waits this way for an ECS task (ship/run.py) and for a Step Functions execution
(ship/run_execution.py); the clock and sleep are arguments so that tests run on a fake clock.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from stack_cfn.errors import DeployError

T = TypeVar("T")


def poll_until(look: Callable[[], tuple[T | None, str]], waiting: Callable[[str], None], *, saying: Callable[[str], str],
               late: Callable[[str], str], wait_seconds: float, poll_seconds: float,
               clock: Callable[[], float], sleep: Callable[[float], None]) -> T:
    """`look()` answers (the end, or None while it lasts; the state now). `waiting` hears `saying(state)` for each new state;
    past wait_seconds: a DeployError with `late(state)`."""
    deadline = clock() + wait_seconds
    said = ""
    while True:
        ended, state = look()
        if ended is not None:
            return ended
        if state != said:
            waiting(saying(state))
            said = state
        if clock() >= deadline:
            raise DeployError(late(state))
        sleep(poll_seconds)
