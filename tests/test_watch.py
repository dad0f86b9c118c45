"""The early-stop watcher (issue 21, item 2): a deploy or release whose new ECS tasks keep failing is cancelled within
minutes, rolled back, and fails with the stopped tasks' reasons (ship/watch_policy.py decides, ship/watch.py reads ECS).

The I/O half runs against a scripted AWS: ECS answers shaped like recorded describe_services / list_tasks /
describe_tasks responses of a failing deployment (a container exiting 1 at start), revealed as a fake clock advances,
and a CloudFormation that rolls back once cancelled. moto cannot be that ECS (the e2e test at the end says why)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from typing import Any

import botocore.exceptions
import pytest
from hypothesis import given
from hypothesis import strategies as st

from stack_cfn import app
from stack_cfn.cli import build_parser, deploy_request
from stack_cfn.errors import DeployError
from stack_cfn.ship import deploy
from stack_cfn.ship.watch import Watcher, WatchOptions, cancel_update, cluster_and_name, services_of, task_reason
from stack_cfn.ship.watch_policy import STOPS, UNPLACEABLE_SECONDS, WINDOW_SECONDS, Rollout, ServiceEvent, TaskStop, Threshold, decide, reason_lines
from tests.test_usecases import Recorder

T0 = 1_800_000_000.0  # the fake clock's start, epoch seconds
STACK = "my-app-prod"
CLUSTER = "my-app-prod"
SERVICE_ARN = f"arn:aws:ecs:us-east-1:123456789012:service/{CLUSTER}/my-app-prod-api-Service-Ab12Cd34"
DEPLOYMENT = "ecs-svc/4712396583749510362"
CRASH = "Essential container in task exited"


def stop(n: int, at: float, reason: str = CRASH, service: str = "api", deployment: str = DEPLOYMENT) -> TaskStop:
    return TaskStop(service, deployment, f"task-{n}", at, reason)


# ---------------------------------------------------------------- the policy (pure)


def test_three_stops_for_one_reason_within_five_minutes_cancel() -> None:
    decision = decide([stop(1, 0), stop(2, 100), stop(3, 290)])
    assert decision.cancel
    assert decision.reasons == (f"api: 3 tasks stopped: {CRASH}",)


def test_fewer_stops_or_a_wider_spread_or_mixed_reasons_continue() -> None:
    assert not decide([stop(1, 0), stop(2, 60)]).cancel, "two stops are below the circuit breaker's own minimum of 3"
    assert not decide([stop(1, 0), stop(2, 200), stop(3, WINDOW_SECONDS + 1)]).cancel, "three stops spread over more than the window"
    assert not decide([stop(1, 0), stop(2, 10, "other"), stop(3, 20, "third")]).cancel, "three different reasons"
    assert not decide([stop(1, 0), stop(2, 10, deployment="ecs-svc/1"), stop(3, 20, deployment="ecs-svc/2")]).cancel, "three deployments"
    assert decide([stop(1, 0), stop(2, 60)]).reasons == (f"api: 2 tasks stopped: {CRASH}",), "continuing still says what stopped"


def test_the_same_task_seen_twice_counts_once() -> None:
    assert not decide([stop(1, 0), stop(1, 0), stop(2, 30)]).cancel


def test_a_deployment_ecs_marked_failed_cancels_at_once() -> None:
    decision = decide([stop(1, 0)], [Rollout("api", DEPLOYMENT, "FAILED", "ECS deployment circuit breaker: tasks failed to start.")])
    assert decision.cancel
    assert decision.reasons[0] == "api: ECS marked its deployment FAILED: ECS deployment circuit breaker: tasks failed to start."
    assert not decide([], [Rollout("api", DEPLOYMENT, "IN_PROGRESS")]).cancel


def test_reasons_are_deduplicated_with_counts_most_first() -> None:
    lines = reason_lines([stop(1, 0, "b"), stop(2, 1, "a"), stop(3, 2, "a"), stop(4, 3, "a", service="www")])
    assert lines == ("api: 2 tasks stopped: a", "api: 1 task stopped: b", "www: 1 task stopped: a")


def test_a_threshold_needs_a_stop_and_a_window() -> None:
    with pytest.raises(ValueError):
        Threshold(0, 60)
    with pytest.raises(ValueError):
        Threshold(3, 0)


@given(st.lists(st.floats(min_value=0, max_value=3600, allow_nan=False), max_size=12), st.permutations(range(12)))
def test_the_decision_is_the_sliding_window_rule_whatever_the_order(times: list[float], order: list[int]) -> None:
    """Cancel exactly when some STOPS of the stops lie within WINDOW_SECONDS; the order they are seen in does not matter."""
    stops = [stop(i, t) for i, t in enumerate(times)]
    shuffled = [stops[i] for i in order if i < len(stops)]
    ordered = sorted(times)
    expected = any(ordered[i + STOPS - 1] - ordered[i] <= WINDOW_SECONDS for i in range(len(ordered) - STOPS + 1))
    assert decide(stops).cancel is expected
    assert decide(shuffled) == decide(stops)


SERVICE_NAME = "my-app-prod-api-Service-Ab12Cd34"
UNPLACED = f"(service {SERVICE_NAME}) was unable to place a task because no container instance met all of its requirements. " \
           "The closest matching (container-instance 5bd5e8b1) has insufficient CPU units available."
STARTED = f"(service {SERVICE_NAME}) has started 1 tasks: (task 8a3e9f1c0b2d4e5f)."


def event(at: float, message: str, service: str = "api") -> ServiceEvent:
    return ServiceEvent(service, at, message)


def test_tasks_unplaceable_for_the_threshold_cancel_and_a_started_task_resets_it() -> None:
    """ECS says a cause once ("duplicate event messages are omitted until either the cause is resolved or six hours passes":
    ECS developer guide, Service event messages), so the time unplaceable runs from that event to now."""
    unplaced = [event(100, UNPLACED)]
    assert not decide([], events=unplaced, now=100 + UNPLACEABLE_SECONDS - 1).cancel, "capacity may still come"
    decision = decide([], events=unplaced, now=100 + UNPLACEABLE_SECONDS)
    assert decision.cancel
    assert decision.reasons[0] == "api: no task could be placed for 10 min (ECS: was unable to place a task)"
    assert any(line.startswith("api: ECS said: (service") and "insufficient CPU units" in line for line in decision.reasons), "the event itself"
    assert not decide([], events=[*unplaced, event(200, STARTED)], now=100 + UNPLACEABLE_SECONDS).cancel, "placing tasks again"
    again = [*unplaced, event(200, STARTED), event(300, UNPLACED)]
    assert not decide([], events=again, now=300 + UNPLACEABLE_SECONDS - 1).cancel and decide([], events=again, now=300 + UNPLACEABLE_SECONDS).cancel


def test_a_service_that_cannot_consistently_start_tasks_cancels_at_once() -> None:
    said = f"(service {SERVICE_NAME}) is unable to consistently start tasks successfully. For more information, see the Troubleshooting section."
    decision = decide([stop(1, 0)], events=[event(50, said)], now=60)
    assert decision.cancel and decision.reasons[0] == "api: ECS says it is unable to consistently start tasks successfully"


def test_health_check_events_are_evidence_joined_to_the_reasons_with_task_ids_left_out() -> None:
    failing = [event(10 * n, f"(service {SERVICE_NAME}) (task {n:032x}) failed ELB health checks in (target-group arn:aws:tg/api/1)") for n in range(4)]
    decision = decide([stop(1, 0, "Task failed ELB health checks"), stop(2, 60, "Task failed ELB health checks"),
                       stop(3, 120, "Task failed ELB health checks")], events=[*failing, event(5, STARTED)], now=130)
    assert decision.cancel
    assert decision.reasons == ("api: 3 tasks stopped: Task failed ELB health checks",
                                f"api: ECS said 4 times: (service {SERVICE_NAME}) (…) failed ELB health checks in (target-group arn:aws:tg/api/1)")
    assert decide([], events=failing, now=10_000).reasons == (), "evidence alone, without stopped tasks, does not cancel"


def test_each_service_has_its_own_threshold() -> None:
    """A service's early_stop: (model/deployment.py) reaches the policy by the ECS service's name."""
    loop = [stop(1, 0), stop(2, 60), stop(3, 120)]
    assert not decide(loop, thresholds={"api": Threshold(4, 300)}).cancel, "api waits for a fourth stop"
    assert decide([*loop, stop(4, 180)], thresholds={"api": Threshold(4, 300)}).cancel
    assert decide(loop, thresholds={"www": Threshold(4, 300)}).cancel, "another service's threshold does not apply"
    assert not decide([], events=[event(0, UNPLACED)], now=900, thresholds={"api": Threshold(3, 300, 1200)}).cancel


@given(st.lists(st.tuples(st.floats(min_value=0, max_value=3600, allow_nan=False), st.booleans()), max_size=10),
       st.floats(min_value=0, max_value=7200, allow_nan=False))
def test_unplaceable_is_measured_from_the_first_event_after_the_last_start(said: list[tuple[float, bool]], now: float) -> None:
    """Cancel exactly when an "unable to place" event came after every "has started" event and the first such is
    UNPLACEABLE_SECONDS before now; the order events arrive in does not matter (they are sorted by time)."""
    events = [event(t, UNPLACED if unplaced else STARTED) for t, unplaced in said]
    ordered = sorted(said, key=lambda e: (e[0], UNPLACED if e[1] else STARTED))
    last_start = max((i for i, (_, unplaced) in enumerate(ordered) if not unplaced), default=-1)
    streak = [t for t, unplaced in ordered[last_start + 1:] if unplaced]
    assert decide([], events=events, now=now).cancel is bool(streak and now - streak[0] >= UNPLACEABLE_SECONDS)
    assert decide([], events=list(reversed(events)), now=now) == decide([], events=events, now=now)


def test_a_threshold_is_the_early_stop_setting_in_seconds() -> None:
    from stack_cfn.model.deployment import EarlyStop

    assert Threshold.of(None) == Threshold(STOPS, WINDOW_SECONDS, UNPLACEABLE_SECONDS)
    assert Threshold.of(EarlyStop(failed_tasks=5, within_minutes=2, unplaceable_minutes=30)) == Threshold(5, 120, 1800)


# ---------------------------------------------------------------- a scripted AWS


def at(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(T0 + seconds, dt.UTC)


def recorded_task(n: int, stopped: float) -> dict[str, Any]:
    """A describe_tasks entry of a task of the new deployment whose container exits 1 at start (as ECS answers it)."""
    return {
        "taskArn": f"arn:aws:ecs:us-east-1:123456789012:task/{CLUSTER}/0b69d5c0d0f94ee8a1d6a0b8c{n:07d}",
        "clusterArn": f"arn:aws:ecs:us-east-1:123456789012:cluster/{CLUSTER}", "startedBy": DEPLOYMENT, "group": "service:my-app-prod-api",
        "lastStatus": "STOPPED", "desiredStatus": "STOPPED", "stopCode": "EssentialContainerExited", "stoppedReason": CRASH,
        "createdAt": at(stopped - 40), "startedAt": at(stopped - 30), "stoppingAt": at(stopped - 1), "stoppedAt": at(stopped),
        "containers": [{"name": "api", "lastStatus": "STOPPED", "exitCode": 1, "healthStatus": "UNKNOWN"}],
    }


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class Paginator:
    def __init__(self, call: Callable[..., dict[str, Any]]) -> None:
        self.call = call

    def paginate(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        yield self.call(**kwargs)


class FakeEcs:
    """A failing deployment: a task stops every `every` seconds from `first` on, each exiting 1."""

    def __init__(self, clock: Clock, first: float = 30, every: float = 60, events: tuple[tuple[float, str], ...] = ()) -> None:
        self.clock, self.first, self.every, self.events = clock, first, every, events
        self.calls: list[str] = []

    def _events(self) -> list[dict[str, Any]]:
        """The service's events written by now, newest first (as ECS answers them)."""
        return [{"id": f"event-{i}", "createdAt": at(when), "message": message}
                for i, (when, message) in sorted(enumerate(self.events), key=lambda e: -e[1][0]) if when <= self.clock() - T0]

    def _tasks(self) -> list[dict[str, Any]]:
        elapsed = self.clock() - T0
        return [recorded_task(n, self.first + n * self.every) for n in range(50) if self.first + n * self.every <= elapsed]

    def describe_services(self, cluster: str, services: list[str]) -> dict[str, Any]:
        self.calls.append("describe_services")
        assert cluster == CLUSTER and services == [SERVICE_ARN]
        deployments = [
            {"id": DEPLOYMENT, "status": "PRIMARY", "rolloutState": "IN_PROGRESS", "createdAt": at(5), "failedTasks": len(self._tasks())},
            {"id": "ecs-svc/1111111111111111111", "status": "ACTIVE", "rolloutState": "COMPLETED", "createdAt": at(-86400)},
        ]
        return {"services": [{"serviceArn": SERVICE_ARN, "serviceName": "my-app-prod-api-Service-Ab12Cd34", "deployments": deployments,
                              "events": self._events()}]}

    def list_tasks(self, cluster: str, startedBy: str, desiredStatus: str) -> dict[str, Any]:  # noqa: N803 (boto3's names)
        self.calls.append("list_tasks")
        assert (startedBy, desiredStatus) == (DEPLOYMENT, "STOPPED")
        return {"taskArns": [t["taskArn"] for t in self._tasks()]}

    def get_paginator(self, name: str) -> Paginator:
        assert name == "list_tasks"
        return Paginator(self.list_tasks)

    def describe_tasks(self, cluster: str, tasks: list[str]) -> dict[str, Any]:
        self.calls.append("describe_tasks")
        return {"tasks": [t for t in self._tasks() if t["taskArn"] in tasks]}


class FakeCfn:
    """A root stack with one nested service stack; an update that rolls back 60 s after it is cancelled, or fails on its own
    (CloudFormation's wait for steady state) at `gives_up`."""

    def __init__(self, clock: Clock, status: str = "UPDATE_IN_PROGRESS", gives_up: float = 3 * 3600) -> None:
        self.clock, self.status, self.gives_up = clock, status, gives_up
        self.cancels: list[tuple[float, str, str]] = []

    def _status(self) -> str:
        elapsed = self.clock() - T0
        if self.cancels:
            return "UPDATE_ROLLBACK_COMPLETE" if elapsed >= self.cancels[0][0] - T0 + 60 else "UPDATE_ROLLBACK_IN_PROGRESS"
        return "UPDATE_ROLLBACK_COMPLETE" if elapsed >= self.gives_up else self.status

    def describe_stacks(self, StackName: str) -> dict[str, Any]:  # noqa: N803 (boto3's names)
        return {"Stacks": [{"StackName": StackName, "StackStatus": self._status()}]}

    def describe_stack_events(self, StackName: str) -> dict[str, Any]:  # noqa: N803
        return {"StackEvents": []}

    def describe_stack_resources(self, StackName: str) -> dict[str, Any]:  # noqa: N803
        nested = f"arn:aws:cloudformation:us-east-1:123456789012:stack/{STACK}-ApiService-1AB/1f2e"
        if StackName == STACK:
            return {"StackResources": [{"LogicalResourceId": "ApiService", "ResourceType": "AWS::CloudFormation::Stack", "PhysicalResourceId": nested},
                                       {"LogicalResourceId": "Network", "ResourceType": "AWS::CloudFormation::Stack", "PhysicalResourceId": ""}]}
        assert StackName == nested
        return {"StackResources": [{"LogicalResourceId": "Service", "ResourceType": "AWS::ECS::Service", "PhysicalResourceId": SERVICE_ARN},
                                   {"LogicalResourceId": "Logs", "ResourceType": "AWS::Logs::LogGroup", "PhysicalResourceId": "/ecs/api"}]}

    def cancel_update_stack(self, StackName: str, ClientRequestToken: str) -> None:  # noqa: N803
        if self._status() != "UPDATE_IN_PROGRESS":
            raise botocore.exceptions.ClientError(
                {"Error": {"Code": "ValidationError", "Message": f"CancelUpdateStack cannot be called from current stack status {self._status()}"}},
                "CancelUpdateStack")
        self.cancels.append((self.clock(), StackName, ClientRequestToken))


class FakeTarget:
    def __init__(self, cfn: FakeCfn, ecs: FakeEcs) -> None:
        self.clients: dict[str, Any] = {"cloudformation": cfn, "ecs": ecs}

    def client(self, name: str) -> Any:
        return self.clients[name]


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The fake clock drives the follow loop's sleeps, so an hour of waiting takes no time."""
    c = Clock()
    monkeypatch.setattr(time, "sleep", c.sleep)  # the follow loop's (ship/deploy.py)
    return c


def test_the_watcher_cancels_a_failing_update_once_within_the_threshold_and_says_why(clock: Clock) -> None:
    cfn, ecs = FakeCfn(clock), FakeEcs(clock)
    said: list[str] = []
    watcher = Watcher(FakeTarget(cfn, ecs), [STACK], CLUSTER, True, said.append, clock=clock)  # type: ignore[arg-type]  # a scripted AWS
    statuses = deploy.follow_many(FakeTarget(cfn, ecs), {STACK: None}, None, 3600, watcher.tick)  # type: ignore[arg-type]  # a scripted AWS
    assert statuses == {STACK: "UPDATE_ROLLBACK_COMPLETE"}
    assert len(cfn.cancels) == 1, "cancelled once, however many reads saw the failure after"
    cancelled_at, stack, token = cfn.cancels[0]
    third_stop = ecs.first + 2 * ecs.every
    assert stack == STACK and token.startswith("stack-cfn-cancel-")
    assert cancelled_at - T0 - third_stop <= watcher.interval + 2, "within one ECS read of the third stop"
    assert cancelled_at - T0 < 5 * 60, "minutes, not CloudFormation's hours"
    assert f"watch: my-app-prod-api-Service-Ab12Cd34: 3 tasks stopped: {CRASH} (api: exit code 1)" in said
    assert any(line.startswith(f"watch: cancelled the update of {STACK}") and "UPDATE_ROLLBACK_COMPLETE" in line for line in said)
    error = watcher.error(statuses)
    assert error is not None and "cancelled and rolled back (UPDATE_ROLLBACK_COMPLETE)" in str(error) and f"{CRASH} (api: exit code 1)" in str(error)


def test_the_stack_files_early_stop_sets_the_watchers_threshold_per_service(clock: Clock) -> None:
    """early_stop: of the stack file (the stack's, per service on top) -> WatchOptions.of -> the service's threshold: with
    failed_tasks 5, the third stop does not cancel; the fifth does."""
    from stack_cfn.model.loading import parse_config

    cfg = parse_config("name: my-app\nenvironment: prod\nearly_stop: {failed_tasks: 4}\nservices:\n"
                       "  - {name: api, image: nginx, port: 80, early_stop: {failed_tasks: 5}}\n  - {name: www, image: nginx, port: 80}\n")
    options = WatchOptions.of(cfg, True)
    assert options.thresholds == {"ApiService": Threshold(5, WINDOW_SECONDS), "WwwService": Threshold(4, WINDOW_SECONDS)}
    cfn, ecs = FakeCfn(clock), FakeEcs(clock)
    watcher = Watcher(FakeTarget(cfn, ecs), [STACK], CLUSTER, True, lambda line: None, clock=clock,  # type: ignore[arg-type]  # a scripted AWS
                      thresholds=options.thresholds)
    deploy.follow_many(FakeTarget(cfn, ecs), {STACK: None}, None, 3600, watcher.tick)  # type: ignore[arg-type]  # a scripted AWS
    fifth_stop = ecs.first + 4 * ecs.every
    assert len(cfn.cancels) == 1 and 0 <= cfn.cancels[0][0] - T0 - fifth_stop <= watcher.interval + 2


def test_the_watcher_says_ecs_events_once_and_cancels_tasks_that_cannot_be_placed(clock: Clock) -> None:
    """No task ever stops (none is ever placed): ECS's "was unable to place a task" event, said once, cancels after
    UNPLACEABLE_SECONDS instead of CloudFormation's hours."""
    cfn = FakeCfn(clock)
    ecs = FakeEcs(clock, first=10**9, events=((-60, f"(service {SERVICE_NAME}) has reached a steady state."), (20, UNPLACED)))
    said: list[str] = []
    watcher = Watcher(FakeTarget(cfn, ecs), [STACK], CLUSTER, True, said.append, clock=clock)  # type: ignore[arg-type]  # a scripted AWS
    statuses = deploy.follow_many(FakeTarget(cfn, ecs), {STACK: None}, None, 3600, watcher.tick)  # type: ignore[arg-type]  # a scripted AWS
    assert statuses == {STACK: "UPDATE_ROLLBACK_COMPLETE"} and len(cfn.cancels) == 1
    assert 0 <= cfn.cancels[0][0] - T0 - 20 - UNPLACEABLE_SECONDS <= watcher.interval + 2
    assert said.count(f"watch: ECS says: {UNPLACED}") == 1, "an event is said once however often it is read"
    assert not any("steady state" in line for line in said), "an event from before the deployment is not evidence"
    error = watcher.error(statuses)
    assert error is not None and "no task could be placed for 10 min" in str(error) and "insufficient CPU units" in str(error)


def test_no_cancel_only_says_the_reasons(clock: Clock) -> None:
    cfn, ecs = FakeCfn(clock, gives_up=1800), FakeEcs(clock)
    said: list[str] = []
    watcher = Watcher(FakeTarget(cfn, ecs), [STACK], CLUSTER, False, said.append, clock=clock)  # type: ignore[arg-type]  # a scripted AWS
    statuses = deploy.follow_many(FakeTarget(cfn, ecs), {STACK: None}, None, 3600, watcher.tick)  # type: ignore[arg-type]  # a scripted AWS
    assert cfn.cancels == [] and statuses == {STACK: "UPDATE_ROLLBACK_COMPLETE"} and clock() - T0 >= 1800, "waited for CloudFormation"
    assert watcher.error(statuses) is None, "the ordinary failure path reports it"
    assert any("--no-cancel" in line for line in said) and any("3 tasks stopped" in line for line in said)


def test_a_first_create_is_not_cancelled_and_says_so(clock: Clock) -> None:
    """AWS rule: "You can cancel only stacks that are in the UPDATE_IN_PROGRESS state" (CloudFormation API reference,
    CancelUpdateStack, https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CancelUpdateStack.html)."""
    cfn, ecs = FakeCfn(clock, status="CREATE_IN_PROGRESS", gives_up=900), FakeEcs(clock)
    said: list[str] = []
    watcher = Watcher(FakeTarget(cfn, ecs), [STACK], CLUSTER, True, said.append, clock=clock)  # type: ignore[arg-type]  # a scripted AWS
    deploy.follow_many(FakeTarget(cfn, ecs), {STACK: None}, None, 3600, watcher.tick)  # type: ignore[arg-type]  # a scripted AWS
    assert cfn.cancels == []
    assert sum("a first create cannot be cancelled" in line for line in said) == 1


def test_app_follow_fails_with_the_reasons_after_the_rollback(clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    """The deploy and release path: app.follow builds the watcher from WatchOptions and raises its error (exit 1)."""
    monkeypatch.setattr("stack_cfn.ship.watch.time.time", clock)
    cfn, ecs = FakeCfn(clock), FakeEcs(clock)
    out = Recorder()
    monkeypatch.setattr(out, "follow_many", lambda run, what, timeout_minutes=60: run(lambda ev: None), raising=False)
    with pytest.raises(DeployError, match=r"cancelled and rolled back .*3 tasks stopped: Essential container in task exited"):
        app.follow(out, FakeTarget(cfn, ecs), {STACK: None}, "waiting", 60, WatchOptions(CLUSTER))  # type: ignore[arg-type]  # a scripted AWS
    assert len(cfn.cancels) == 1


def test_ecs_not_answering_does_not_break_the_wait(clock: Clock) -> None:
    cfn, ecs = FakeCfn(clock, gives_up=120), FakeEcs(clock)

    def refused(**_: Any) -> dict[str, Any]:
        raise botocore.exceptions.ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not allowed"}}, "DescribeServices")

    ecs.describe_services = refused  # type: ignore[method-assign, assignment]  # ECS refusing the watch
    said: list[str] = []
    watcher = Watcher(FakeTarget(cfn, ecs), [STACK], CLUSTER, True, said.append, clock=clock)  # type: ignore[arg-type]  # a scripted AWS
    assert deploy.follow_many(FakeTarget(cfn, ecs), {STACK: None}, None, 3600, watcher.tick) == {STACK: "UPDATE_ROLLBACK_COMPLETE"}  # type: ignore[arg-type]
    assert len([line for line in said if "could not read the ECS services" in line]) == 1


def test_cancel_is_safe_to_repeat() -> None:
    clock = Clock()
    cfn = FakeCfn(clock)
    assert cancel_update(cfn, STACK, "t-0") == "cancelled"
    assert cancel_update(cfn, STACK, "t-0") == "UPDATE_ROLLBACK_IN_PROGRESS", "a stack already rolling back is what was asked for"


def test_services_are_found_in_nested_stacks_and_arns_name_their_cluster() -> None:
    assert services_of(FakeCfn(Clock()), STACK) == [(SERVICE_ARN, "ApiService")], "the nested stack names the stack file's service"
    assert cluster_and_name(SERVICE_ARN, "fallback") == (CLUSTER, "my-app-prod-api-Service-Ab12Cd34")
    assert cluster_and_name("arn:aws:ecs:us-east-1:123456789012:service/old-style", "fallback") == ("fallback", "old-style")


def test_services_are_described_ten_at_a_time() -> None:
    """AWS rule: DescribeServices takes "up to 10 services ... in a single operation" (ECS API reference, DescribeServices,
    https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeServices.html)."""
    from stack_cfn.ship.watch import observe

    asked: list[int] = []

    class Ecs:
        def describe_services(self, cluster: str, services: list[str]) -> dict[str, Any]:
            assert len(services) <= 10, "DescribeServices takes at most 10"
            asked.append(len(services))
            return {"services": []}

    arns = [f"arn:aws:ecs:us-east-1:123456789012:service/{CLUSTER}/s{i}" for i in range(23)]
    assert observe(Ecs(), CLUSTER, arns, T0) == ([], [], [])
    assert asked == [10, 10, 3]


def test_a_task_reason_names_its_containers() -> None:
    task = {"stoppedReason": "Task failed ELB health checks in (target-group arn:x)",
            "containers": [{"name": "api", "exitCode": 137, "healthStatus": "UNHEALTHY"}, {"name": "sidecar", "exitCode": 0}]}
    assert task_reason(task) == "Task failed ELB health checks in (target-group arn:x) (api: exit code 137, unhealthy)"
    pull = {"stoppedReason": "CannotPullContainerError: pull image manifest has been retried 5 time(s)",
            "containers": [{"name": "api", "reason": "CannotPullContainerError: ref not found"}]}
    assert task_reason(pull).endswith("(api: CannotPullContainerError: ref not found)")


def test_no_cancel_flag_reaches_the_requests() -> None:
    parser = build_parser()
    assert deploy_request(parser.parse_args(["deploy"])).cancel is True
    assert deploy_request(parser.parse_args(["deploy", "--no-cancel"])).cancel is False
    assert parser.parse_args(["release", "api=1.2.3", "--no-cancel"]).no_cancel is True


# ---------------------------------------------------------------- the local AWS (moto)


def _failing_service(target: Any, cluster: str) -> dict[str, Any]:
    """A service on the local AWS whose image cannot be pulled, with the circuit breaker on."""
    ecs = target.client("ecs")
    ecs.create_cluster(clusterName=cluster)
    ecs.register_task_definition(family=f"{cluster}-api", containerDefinitions=[
        {"name": "api", "image": "registry.invalid/no-such-image:1", "memory": 64, "essential": True}])
    return dict(ecs.create_service(cluster=cluster, serviceName="api", taskDefinition=f"{cluster}-api", desiredCount=2,
                                   deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True, "rollback": True}})["service"])


@pytest.mark.e2e
def test_the_watchers_ecs_reads_are_accepted_by_the_local_aws(local_aws: Any) -> None:
    """describe_services, list_tasks (startedBy, desiredStatus=STOPPED, paginated) and the policy, on the local AWS:
    the new deployment is seen, nothing stopped yet, so the wait goes on."""
    from stack_cfn.ship.watch import observe

    _, target = local_aws
    service = _failing_service(target, "watch-reads")
    stops, rollouts, _ = observe(target.client("ecs"), "watch-reads", [service["serviceArn"]], time.time())
    assert [(r.service, r.state) for r in rollouts] == [("api", "IN_PROGRESS")]
    assert stops == [] and not decide(stops, rollouts).cancel


@pytest.mark.e2e
@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="moto 5.2.5: a service's tasks are never started (no container agent), so a deployment whose image "
                          "cannot be pulled never reports stopped tasks (list_tasks startedBy=<deployment> desiredStatus=STOPPED is "
                          "empty) and its rolloutState stays IN_PROGRESS: the watcher cannot be driven to cancel on the local AWS; "
                          "the scripted ECS above is the proof")
def test_a_failing_deployment_reports_stopped_tasks_on_the_local_aws(local_aws: Any) -> None:
    _, target = local_aws
    service = _failing_service(target, "watch-gap")
    deployment = service["deployments"][0]["id"]
    stopped = target.client("ecs").list_tasks(cluster="watch-gap", startedBy=deployment, desiredStatus="STOPPED").get("taskArns", [])
    assert stopped, "ECS stops the tasks of an image it cannot pull (CannotPullContainerError) and restarts them"


@pytest.mark.e2e
@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="moto 5.2.5: describe_services always answers events: [] (ECS writes service events such as "
                          "'has started N tasks' and 'has reached a steady state'): the event half of the watcher is proven on the scripted ECS above")
def test_a_new_service_has_events_on_the_local_aws(local_aws: Any) -> None:
    _, target = local_aws
    service = _failing_service(target, "watch-events")
    described = target.client("ecs").describe_services(cluster="watch-events", services=[service["serviceArn"]])["services"][0]
    assert described.get("events"), "ECS says what its scheduler did: (service api) has started 2 tasks ..."


def test_evidence_keeps_each_services_most_frequent_messages() -> None:
    """EVIDENCE_PER_SERVICE lines per service, the most frequent first (ties by text); another service keeps its own."""
    from stack_cfn.ship.watch_policy import EVIDENCE_PER_SERVICE, ServiceEvent, evidence_lines

    said = [ServiceEvent("a", float(i), f"(service a) (task t{i}) failed ELB health checks in (target-group tg-{n})")
            for i, n in enumerate([1, 1, 1, 2, 2, 3, 4, 5, 5])]
    said += [ServiceEvent("b", 1.0, "(service b) was unable to place a task because no container instance met all of its requirements."),
             ServiceEvent("a", 2.0, "(service a) has started 1 tasks: (task x).")]
    lines = evidence_lines(said)
    assert EVIDENCE_PER_SERVICE == 3
    assert lines == ("a: ECS said 3 times: (service a) (…) failed ELB health checks in (target-group tg-1)",
                     "a: ECS said 2 times: (service a) (…) failed ELB health checks in (target-group tg-2)",
                     "a: ECS said 2 times: (service a) (…) failed ELB health checks in (target-group tg-5)",
                     "b: ECS said: (service b) was unable to place a task because no container instance met all of its requirements.")
