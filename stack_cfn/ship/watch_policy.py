"""When a deploy or release should stop waiting: a pure decision over the stopped tasks of the ECS deployments it started.

The watcher (ship/watch.py) reads what ECS says and hands it here as `TaskStop`s and `Rollout`s; `decide` answers
continue, or cancel with the reasons, one line each with counts. No I/O, no clock: the window is measured between
the stops themselves, so the same observations always give the same answer (tests/test_watch.py).

The threshold, and why (docs/deployments-watch.md):
- STOPS = 3 tasks of the same new deployment stopped for the same reason. 3 is the ECS deployment circuit breaker's own
  minimum threshold ("a minimum threshold of 3 and a maximum threshold of 200", 0.5 x desired count: ECS API reference,
  ServiceDeploymentCircuitBreaker, https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceDeploymentCircuitBreaker.html),
  so we never give up on fewer failures than ECS itself would, but we do not wait for half of a large service to fail.
- WINDOW_SECONDS = 5 minutes between the first and the last of those stops. A task that cannot pull its image or exits
  at start stops within a minute or two, and ECS restarts it at once; one that fails health checks stops after the
  target group's grace period and thresholds (a few minutes). Three stops in five minutes is a crash loop, not a slow
  start. Stops spread wider than that (one an hour) are left to ECS and CloudFormation.
- A deployment ECS itself marked FAILED (the circuit breaker tripped) is reason enough at once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

STOPS = 3
WINDOW_SECONDS = 5 * 60


@dataclass(frozen=True)
class TaskStop:
    """One stopped task of a deployment being watched."""

    service: str  # the ECS service's name
    deployment: str  # the ECS deployment id (ecs-svc/...), the task's startedBy
    task: str  # the task's ARN: the same task seen twice counts once
    stopped_at: float  # seconds since the epoch
    reason: str  # stoppedReason and the containers' reasons / exit codes, in one line


@dataclass(frozen=True)
class Rollout:
    """A watched ECS deployment's own verdict (deployments[].rolloutState)."""

    service: str
    deployment: str
    state: str  # IN_PROGRESS | COMPLETED | FAILED
    reason: str = ""


@dataclass(frozen=True)
class Threshold:
    stops: int = STOPS
    window_seconds: float = WINDOW_SECONDS

    def __post_init__(self) -> None:
        if self.stops < 1 or self.window_seconds <= 0:
            raise ValueError(f"a watch threshold needs at least one stop in a positive window, not {self.stops} in {self.window_seconds} s")


DEFAULT = Threshold()


@dataclass(frozen=True)
class Decision:
    cancel: bool
    reasons: tuple[str, ...]  # why to cancel; with cancel False, what failed so far (may be empty)


def reason_lines(stops: Iterable[TaskStop]) -> tuple[str, ...]:
    """One line per service and reason, with how many tasks stopped for it: most first, then by service and reason."""
    counts = Counter((s.service, s.reason) for s in _unique(stops))
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return tuple(f"{service}: {n} task{'s' if n > 1 else ''} stopped: {reason}" for (service, reason), n in ordered)


def decide(stops: Iterable[TaskStop], rollouts: Sequence[Rollout] = (), threshold: Threshold | None = None) -> Decision:
    """Cancel when a deployment ECS marked FAILED, or when `threshold.stops` tasks of one deployment stopped for the same
    reason within `threshold.window_seconds` of each other; otherwise continue, saying what stopped so far."""
    threshold = threshold or DEFAULT
    unique = _unique(stops)
    failed = tuple(f"{r.service}: ECS marked its deployment FAILED" + (f": {r.reason}" if r.reason else "") for r in rollouts if r.state == "FAILED")
    loops = [key for key, times in _by_cause(unique).items() if _crowded(times, threshold)]
    if failed or loops:
        culprits = [s for s in unique if (s.service, s.deployment, s.reason) in loops]
        return Decision(True, failed + reason_lines(culprits or unique))
    return Decision(False, reason_lines(unique))


def _unique(stops: Iterable[TaskStop]) -> list[TaskStop]:
    seen: dict[str, TaskStop] = {}
    for stop in stops:
        seen.setdefault(stop.task, stop)
    return sorted(seen.values(), key=lambda s: (s.stopped_at, s.task))


def _by_cause(stops: Iterable[TaskStop]) -> dict[tuple[str, str, str], list[float]]:
    causes: dict[tuple[str, str, str], list[float]] = {}
    for stop in stops:
        causes.setdefault((stop.service, stop.deployment, stop.reason), []).append(stop.stopped_at)
    return causes


def _crowded(times: Sequence[float], threshold: Threshold) -> bool:
    """Some `threshold.stops` consecutive stops (sorted) lie within the window."""
    ordered = sorted(times)
    n = threshold.stops
    return any(ordered[i + n - 1] - ordered[i] <= threshold.window_seconds for i in range(len(ordered) - n + 1))
