"""When a deploy or release should stop waiting: a pure decision over the stopped tasks of the ECS deployments it started.

The watcher (ship/watch.py) reads what ECS says and hands it here as `TaskStop`s and `Rollout`s; `decide` answers
continue, or cancel with the reasons, one line each with counts. No I/O, no clock: the window is measured between
the stops themselves, so the same observations always give the same answer (tests/test_watch.py).

The threshold is a stack-file setting, per service (`early_stop:`, model/deployment.py EarlyStop, with its bounds and why);
the defaults, and why (docs/deployments-watch.md):
- STOPS = 3 tasks of the same new deployment stopped for the same reason. 3 is the ECS deployment circuit breaker's own
  minimum threshold ("a minimum threshold of 3 and a maximum threshold of 200", 0.5 x desired count: ECS API reference,
  ServiceDeploymentCircuitBreaker, https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceDeploymentCircuitBreaker.html),
  so by default we never give up on fewer failures than ECS itself would, but we do not wait for half of a large service to fail.
- WINDOW_SECONDS = 5 minutes between the first and the last of those stops. A task that cannot pull its image or exits
  at start stops within a minute or two, and ECS restarts it at once; one that fails health checks stops after the
  target group's grace period and thresholds (a few minutes). Three stops in five minutes is a crash loop, not a slow
  start. Stops spread wider than that (one an hour) are left to ECS and CloudFormation.
- A deployment ECS itself marked FAILED (the circuit breaker tripped) is reason enough at once; so is the service event
  "is unable to consistently start tasks successfully": ECS says it when tasks repeatedly fail to reach RUNNING, and then
  spaces further launches "up to a maximum of 27 minutes" apart (ECS developer guide, "Amazon ECS service throttle logic",
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-throttle-logic.html), so stops would come too
  slowly to reach the count within the window.
- UNPLACEABLE_SECONDS = 10 minutes of "was unable to place a task" (no instance with room, no Fargate capacity) without a
  task started since: the circuit breaker counts failed tasks, and an unplaced task never fails, so CloudFormation would
  wait its hours; ten minutes leaves an Auto Scaling group time to add an instance (a few minutes) and then some.
Service events (describe_services `events`) since the deployment began are evidence: those saying tasks cannot be placed
or keep failing health checks are said while waiting and joined to the reasons on a stop (`evidence_lines`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import groupby, islice

from stack_cfn.model import deployment as D

STOPS = D.DEFAULT_FAILED_TASKS
WINDOW_SECONDS = D.DEFAULT_WITHIN_MINUTES * 60
UNPLACEABLE_SECONDS = D.DEFAULT_UNPLACEABLE_MINUTES * 60
EVIDENCE_PER_SERVICE = 3  # event lines per service joined to the reasons on a stop (the most frequent)
# What ECS writes in a service's events (ECS developer guide, "Service event messages",
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-event-messages.html): "duplicate event messages are
# omitted until either the cause is resolved or six hours passes", so a cause is said once: its duration is measured to now.
UNPLACEABLE = "was unable to place a task"  # "(service x) was unable to place a task because no container instance met all of its requirements ..."
UNSTABLE = "is unable to consistently start tasks successfully"  # "(service x) is unable to consistently start tasks successfully. For more information ..."
# "(service x) (task y) failed ELB health checks in (target-group z)", "(service x) (instance i) (port p) is unhealthy in (target-group z) due to ..."
UNHEALTHY = ("failed elb health checks", "is unhealthy in", "failed container health checks")
PLACED = ("has started", "has reached a steady state")  # "(service x) has started 2 tasks: (task a) (task b)."
_ID = re.compile(r"\((task|instance|container-instance|port|eni|taskSet)[ :]?[^()]*\)")


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
class ServiceEvent:
    """One of a watched service's events (describe_services `events`), written since its new deployment began."""

    service: str
    at: float  # seconds since the epoch (createdAt)
    message: str


@dataclass(frozen=True)
class Threshold:
    """A service's early stop (its `early_stop:` setting, checked in model/deployment.py), in the policy's units."""

    stops: int = STOPS
    window_seconds: float = WINDOW_SECONDS
    unplaceable_seconds: float = UNPLACEABLE_SECONDS

    def __post_init__(self) -> None:
        if self.stops < 1 or self.window_seconds <= 0 or self.unplaceable_seconds <= 0:
            raise ValueError(f"a watch threshold needs at least one stop in a positive window, not {self.stops} in {self.window_seconds} s "
                             f"(and a positive wait for placement, not {self.unplaceable_seconds} s)")

    @classmethod
    def of(cls, setting: D.EarlyStop | None) -> Threshold:
        """A service's `early_stop:` (None: the defaults)."""
        if setting is None:
            return DEFAULT
        return cls(setting.failed_tasks, setting.within_minutes * 60, setting.unplaceable_minutes * 60)


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


def decide(stops: Iterable[TaskStop], rollouts: Sequence[Rollout] = (), threshold: Threshold | None = None, *,
           events: Iterable[ServiceEvent] = (), now: float = 0.0, thresholds: Mapping[str, Threshold] | None = None) -> Decision:
    """Cancel when a deployment ECS marked FAILED, when a service says it cannot start tasks consistently, when a service's
    `stops` tasks of one deployment stopped for the same reason within its window, or when its new tasks have been
    unplaceable for its `unplaceable_seconds` by `now`; otherwise continue, saying what stopped so far. A service's threshold
    is `thresholds[service]`, else `threshold`, else the defaults."""
    def of(service: str) -> Threshold:
        return (thresholds or {}).get(service) or threshold or DEFAULT

    unique, said = _unique(stops), sorted(events, key=lambda e: (e.at, e.service, e.message))
    failed = tuple(f"{r.service}: ECS marked its deployment FAILED" + (f": {r.reason}" if r.reason else "") for r in rollouts if r.state == "FAILED")
    unstable = tuple(f"{e.service}: ECS says it {UNSTABLE}" for e in _first_per_service(e for e in said if UNSTABLE in e.message.lower()))
    stuck = tuple(f"{service}: no task could be placed for {(now - since) / 60:.0f} min (ECS: {UNPLACEABLE})"
                  for service, since in sorted(unplaced_since(said).items()) if now - since >= of(service).unplaceable_seconds)
    loops = [key for key, times in _by_cause(unique).items() if _crowded(times, of(key[0]))]
    if failed or unstable or stuck or loops:
        culprits = [s for s in unique if (s.service, s.deployment, s.reason) in loops]
        return Decision(True, failed + unstable + stuck + reason_lines(culprits or unique) + evidence_lines(said))
    return Decision(False, reason_lines(unique))


def evidence(message: str) -> bool:
    """An event that says the new tasks cannot be placed, cannot start, or fail their health checks."""
    low = message.lower()
    return UNPLACEABLE in low or UNSTABLE in low or any(u in low for u in UNHEALTHY)


def evidence_lines(events: Iterable[ServiceEvent]) -> tuple[str, ...]:
    """The evidence events, one line per service and message (task, instance and port ids left out), with counts: the
    `EVIDENCE_PER_SERVICE` most frequent of each service."""
    counts = Counter((e.service, " ".join(_ID.sub("(…)", e.message).split())) for e in events if evidence(e.message))
    ordered = sorted(counts.items(), key=lambda item: (item[0][0], -item[1], item[0][1]))
    kept = [item for _, group in groupby(ordered, key=lambda item: item[0][0]) for item in islice(group, EVIDENCE_PER_SERVICE)]
    return tuple(f"{service}: ECS said{f' {n} times' if n > 1 else ''}: {message}" for (service, message), n in kept)


def unplaced_since(events: Sequence[ServiceEvent]) -> dict[str, float]:
    """Per service, when its current run of "unable to place a task" began: the first such event after the last task it
    started (or its steady state). Services placing tasks again are absent. `events` in time order."""
    since: dict[str, float] = {}
    for e in events:
        low = e.message.lower()
        if any(p in low for p in PLACED):
            since.pop(e.service, None)
        elif UNPLACEABLE in low:
            since.setdefault(e.service, e.at)
    return since


def _first_per_service(events: Iterable[ServiceEvent]) -> list[ServiceEvent]:
    first: dict[str, ServiceEvent] = {}
    for e in events:
        first.setdefault(e.service, e)
    return list(first.values())


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
