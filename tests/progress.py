"""A Progress (ship/report.py) for tests: it keeps what a use case says, and follows a wait only when told it may."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any


class Recorder:
    def __init__(self, follows: bool = False) -> None:
        self.said: list[str] = []  # info lines and the waits it followed
        self.steps: list[str] = []  # the steps it was told of
        self.follows = follows

    @contextlib.contextmanager
    def step(self, doing: str, if_interrupted: str) -> Iterator[None]:
        self.steps.append(doing)
        yield

    @contextlib.contextmanager
    def status(self, message: str) -> Iterator[None]:
        yield

    def info(self, message: str) -> None:
        self.said.append(message)

    def plan(self, cs: Any) -> None:
        raise AssertionError("this use case makes no change set")

    def follow_many(self, run: Callable[..., dict[str, str]], what: str, timeout_minutes: int = 60) -> dict[str, str]:
        if not self.follows:
            raise AssertionError("this use case waits for nothing")
        self.said.append(f"waiting for {what}")
        return run(lambda ev: None)
