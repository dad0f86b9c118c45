"""While a deploy or release waits on its stacks, read the ECS deployments they start and stop a bad one in minutes.

`Watcher.tick` runs inside the stack event loop (ship/deploy.follow_many; no threads) and does its work at most every
`INTERVAL_SECONDS`: it finds each followed stack's ECS services (AWS::ECS::Service resources of the stack and its nested
stacks: their physical ids are service ARNs; the nested stack's logical id names the service of the stack file, whose
`early_stop:` is its threshold), reads their new deployments (describe_services: PRIMARY deployments created since the
watch began) with the service's events since then, and those deployments' stopped tasks (list_tasks
startedBy=<deployment id> desiredStatus=STOPPED, describe_tasks), says new evidence events (tasks that cannot be placed
or fail health checks) once each, and asks ship/watch_policy.decide. On "cancel" it calls CancelUpdateStack on
the top-level stack holding the service (safe to repeat: one ClientRequestToken per watch and stack, and a stack
already rolling back is what was asked for); the follow loop then waits, within --timeout, for the rollback to end
(UPDATE_ROLLBACK_COMPLETE), and the caller fails with `error()`: the stopped tasks' reasons, one line each with counts.
A first create (CREATE_IN_PROGRESS) cannot be cancelled (CancelUpdateStack takes only UPDATE_IN_PROGRESS stacks:
https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CancelUpdateStack.html): the watcher says so
and CloudFormation fails and rolls it back on its own. With cancel off (--no-cancel) it only says the reasons.
ECS not answering never breaks the deploy: the watcher says so and the wait goes on as before.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import botocore.exceptions

from stack_cfn.errors import DeployError
from stack_cfn.ship.aws import AwsTarget
from stack_cfn.ship.aws_errors import AwsError, message_of
from stack_cfn.ship.watch_policy import DEFAULT, Decision, Rollout, ServiceEvent, TaskStop, Threshold, decide, evidence

INTERVAL_SECONDS = 15  # ECS is read at most this often (the stack events every 2 s): a handful of calls per service a minute
DISCOVER_EVERY = 4  # the stacks' ECS services are listed again every 4th read (a service created mid-update appears)
CLOCK_SKEW_SECONDS = 120  # a deployment created up to this long before the watch began is still ours (clocks differ)
# DescribeServices takes at most 10 services per call: https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeServices.html
DESCRIBE_SERVICES_MAX = 10
# DescribeTasks takes at most 100 tasks per call: https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeTasks.html
DESCRIBE_TASKS_MAX = 100
SCALED_IN = "Scaling activity initiated by"  # ECS stopping a healthy task on purpose (scale-in, replaced): not a failure
Say = Callable[[str], None]
Observed = tuple[list[TaskStop], list[Rollout], list[ServiceEvent]]

if TYPE_CHECKING:
    from stack_cfn.model.config import StackConfig


@dataclass(frozen=True)
class WatchOptions:
    """What a deploy or release asks of the watch: the cluster of its services, and whether to cancel (--no-cancel: False)."""

    cluster: str
    cancel: bool = True
    thresholds: Mapping[str, Threshold] = field(default_factory=dict)  # the stack file's services' early_stop:, by logical id

    @classmethod
    def of(cls, cfg: StackConfig, cancel: bool) -> WatchOptions:
        """The watch of a stack file's deploy or release: each service's threshold from its `early_stop:` (model/deployment.py)."""
        return cls(cfg.cluster_name, cancel, {s.logical_id: Threshold.of(s.early_stop) for s in cfg.services})


def services_of(cfn: Any, stack: str, owner: str = "") -> list[tuple[str, str]]:
    """The ECS services of a stack and of its nested stacks, depth first: (ARN, the logical id of the nested stack holding
    it, which is the stack file's service's; the service's own logical id when it sits in `stack` itself)."""
    found: list[tuple[str, str]] = []
    for r in cfn.describe_stack_resources(StackName=stack).get("StackResources", []):
        physical = r.get("PhysicalResourceId") or ""
        if r.get("ResourceType") == "AWS::ECS::Service" and physical.startswith("arn:"):
            found.append((physical, owner or str(r.get("LogicalResourceId", ""))))
        elif r.get("ResourceType") == "AWS::CloudFormation::Stack" and physical:
            found += services_of(cfn, physical, str(r.get("LogicalResourceId", "")))
    return found


def cluster_and_name(arn: str, cluster: str) -> tuple[str, str]:
    """arn:aws:ecs:REGION:ACCOUNT:service/CLUSTER/NAME (the long ARN format), else service/NAME in `cluster`."""
    parts = arn.split(":", 5)[-1].split("/")
    return (parts[1], parts[2]) if len(parts) == 3 else (cluster, parts[-1])


def _when(value: Any) -> float:
    return float(value.timestamp()) if hasattr(value, "timestamp") else float(value or 0)


def task_reason(task: Mapping[str, Any]) -> str:
    """The task's stoppedReason with its containers' reasons and exit codes, in one line."""
    said = []
    for c in task.get("containers", []):
        bits = [str(c["reason"])] if c.get("reason") else []
        if c.get("exitCode") not in (None, 0):
            bits.append(f"exit code {c['exitCode']}")
        if c.get("healthStatus") == "UNHEALTHY":
            bits.append("unhealthy")
        if bits:
            said.append(f"{c.get('name', '?')}: {', '.join(bits)}")
    reason = " ".join(str(task.get("stoppedReason") or "stopped").split())
    return reason + (f" ({'; '.join(said)})" if said else "")


def observe(ecs: Any, cluster: str, arns: Sequence[str], since: float) -> Observed:
    """The stopped tasks, rollout states and service events of the services' deployments created since `since` (epoch
    seconds); the events since each deployment began."""
    stops: list[TaskStop] = []
    rollouts: list[Rollout] = []
    events: list[ServiceEvent] = []
    by_cluster: dict[str, list[str]] = {}
    for arn in arns:
        by_cluster.setdefault(cluster_and_name(arn, cluster)[0], []).append(arn)
    for where, members in sorted(by_cluster.items()):
        for i in range(0, len(members), DESCRIBE_SERVICES_MAX):
            for service in ecs.describe_services(cluster=where, services=members[i:i + DESCRIBE_SERVICES_MAX]).get("services", []):
                for d in service.get("deployments", []):
                    if d.get("status") == "PRIMARY" and d.get("id") and _when(d.get("createdAt")) >= since - CLOCK_SKEW_SECONDS:
                        name = str(service.get("serviceName", "?"))
                        rollouts.append(Rollout(name, str(d["id"]), str(d.get("rolloutState", "")), str(d.get("rolloutStateReason", ""))))
                        stops += _stopped(ecs, where, name, str(d["id"]))
                        events += _events(service, name, _when(d.get("createdAt")))
    return stops, rollouts, events


def _events(service: Mapping[str, Any], name: str, begun: float) -> list[ServiceEvent]:
    """The service's events (the 100 most recent, newest first, as ECS keeps them) written since its deployment began."""
    return [ServiceEvent(name, _when(e.get("createdAt")), " ".join(str(e.get("message", "")).split()))
            for e in service.get("events", []) if _when(e.get("createdAt")) >= begun]


def _stopped(ecs: Any, cluster: str, service: str, deployment: str) -> list[TaskStop]:
    arns: list[str] = []
    for page in ecs.get_paginator("list_tasks").paginate(cluster=cluster, startedBy=deployment, desiredStatus="STOPPED"):
        arns += page.get("taskArns", [])
    stops = []
    for i in range(0, len(arns), DESCRIBE_TASKS_MAX):
        for task in ecs.describe_tasks(cluster=cluster, tasks=arns[i:i + DESCRIBE_TASKS_MAX]).get("tasks", []):
            if task.get("lastStatus") == "STOPPED" and not str(task.get("stoppedReason", "")).startswith(SCALED_IN):
                stops.append(TaskStop(service, deployment, str(task.get("taskArn", "?")), _when(task.get("stoppedAt")), task_reason(task)))
    return stops


def cancel_update(cfn: Any, stack: str, token: str) -> str:
    """CancelUpdateStack, safe to repeat. Returns what happened: "cancelled", "create" (a first create: not cancellable),
    or the status of a stack that is no longer updating (rolling back already, or done)."""
    stacks = cfn.describe_stacks(StackName=stack).get("Stacks", [])
    status = str(stacks[0].get("StackStatus", "")) if stacks else "gone"
    if status == "CREATE_IN_PROGRESS":
        return "create"
    if status != "UPDATE_IN_PROGRESS":
        return status
    try:
        cfn.cancel_update_stack(StackName=stack, ClientRequestToken=token)
    except botocore.exceptions.ClientError as exc:
        # The retry of a request that went through ("TokenAlreadyExists"), or the stack left UPDATE_IN_PROGRESS meanwhile.
        if exc.response["Error"].get("Code") not in ("TokenAlreadyExistsException", "TokenAlreadyExists", "ValidationError"):
            raise
    return "cancelled"


class Watcher:
    """Follows the ECS services of the stacks a deploy or release waits on; see the module's docstring."""

    def __init__(self, target: AwsTarget, stacks: Iterable[str], cluster: str, cancel: bool, say: Say,
                 threshold: Threshold = DEFAULT, clock: Callable[[], float] | None = None, interval: float = INTERVAL_SECONDS,
                 thresholds: Mapping[str, Threshold] | None = None) -> None:
        self.target, self.stacks, self.cluster, self.cancel, self.say = target, list(stacks), cluster, cancel, say
        self.threshold, self.clock, self.interval = threshold, clock or time.time, interval
        self.thresholds = dict(thresholds or {})  # by the logical id of the nested stack holding the service (WatchOptions)
        self.since = self.clock()
        self.token = f"stack-cfn-cancel-{secrets.token_hex(6)}"
        self.services: dict[str, list[tuple[str, str]]] = {}
        self.reads = 0
        self.next_read = self.since
        self.said: set[str] = set()
        self.verdicts: dict[str, Decision] = {}  # stack -> the decision that cancelled it (or would have, with cancel off)

    @property
    def cancelled(self) -> bool:
        return self.cancel and bool(self.verdicts)

    def tick(self) -> None:
        """Read ECS if it is time; cancel (or say) when the policy says so. Never raises for ECS's sake."""
        now = self.clock()
        if now < self.next_read:
            return
        self.next_read = now + self.interval
        try:
            self._read()
        except AwsError as exc:
            self._say_once(f"watch: could not read the ECS services ({message_of(exc)}); waiting for CloudFormation alone")
        self.reads += 1

    def _read(self) -> None:
        cfn, ecs = self.target.client("cloudformation"), self.target.client("ecs")
        for number, stack in enumerate(self.stacks):
            if self.cancel and stack in self.verdicts:
                continue
            if stack not in self.services or self.reads % DISCOVER_EVERY == 0:
                self.services[stack] = services_of(cfn, stack)
            if not self.services[stack]:
                continue
            stops, rollouts, events = observe(ecs, self.cluster, [arn for arn, _ in self.services[stack]], self.since)
            for e in sorted(events, key=lambda e: e.at):
                if evidence(e.message):
                    self._say_once(f"watch: ECS says: {e.message}")
            thresholds = {cluster_and_name(arn, self.cluster)[1]: self.thresholds[owner] for arn, owner in self.services[stack] if owner in self.thresholds}
            decision = decide(stops, rollouts, self.threshold, events=events, now=self.clock(), thresholds=thresholds)
            for line in decision.reasons:
                self._say_once(f"watch: {line}")
            if decision.cancel:
                self._act(cfn, stack, f"{self.token}-{number}", decision)

    def _act(self, cfn: Any, stack: str, token: str, decision: Decision) -> None:
        rule = decision.reasons[0] if decision.reasons else "its new tasks keep failing"
        if not self.cancel:
            self.verdicts.setdefault(stack, decision)
            self._say_once(f"watch: {stack}'s new tasks keep failing ({rule}); --no-cancel: waiting for CloudFormation and ECS to give up",
                           key=f"no-cancel {stack}")
            return
        outcome = cancel_update(cfn, stack, token)
        if outcome == "create":
            self._say_once(f"watch: {stack}'s new tasks keep failing ({rule}), but a first create cannot be cancelled "
                           "(CancelUpdateStack takes only UPDATE_IN_PROGRESS): CloudFormation rolls it back when ECS gives up", key=f"create {stack}")
            return
        self.verdicts[stack] = decision
        if outcome == "cancelled":
            self.say(f"watch: cancelled the update of {stack} ({rule}); waiting for its rollback (UPDATE_ROLLBACK_COMPLETE) within --timeout")
        else:
            self.say(f"watch: {stack}'s new tasks keep failing ({rule}); the stack is already {outcome}")

    def _say_once(self, line: str, key: str = "") -> None:
        """Say a line once (or once per `key`: a verdict whose reasons grow while waiting is said the first time only)."""
        if (key or line) not in self.said:
            self.said.add(key or line)
            self.say(line)

    def error(self, statuses: Mapping[str, str]) -> DeployError | None:
        """After the wait: the failure of the stacks this watch cancelled, with the stopped tasks' reasons."""
        if not self.cancelled:
            return None
        parts = [f"stack {stack} cancelled and rolled back ({statuses.get(stack, '?')}) because its new ECS tasks kept failing: "
                 + "; ".join(d.reasons) for stack, d in self.verdicts.items()]
        return DeployError(" | ".join(parts))
