"""Drift detection before a plan: DetectStackDrift on each stack (root, nested, service groups: CloudFormation
does not look into nested stacks on its own), a bounded wait for the detections, then the drifted resources.

Sources: CloudFormation API Reference, DetectStackDrift ("When detecting drift on a stack, CloudFormation doesn't
detect drift on any nested stacks belonging to that stack. Perform DetectStackDrift directly on the nested stack
itself"; "can take up to several minutes"), DescribeStackDriftDetectionStatus (DetectionStatus
DETECTION_IN_PROGRESS | DETECTION_COMPLETE | DETECTION_FAILED), DescribeStackResourceDrifts
(StackResourceDriftStatusFilters MODIFIED | DELETED, PropertyDifferences).
Where the endpoint has no drift detection (the local AWS, moto 5.2.5, answers HTTP 500), the report says so.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import botocore.config

from stack_cfn.ship.aws import AwsTarget, client_config
from stack_cfn.ship.aws_errors import AwsError, code_of, is_busy, message_of, status_of
from stack_cfn.ship.deployed import DeployedStack

DRIFTED = ["MODIFIED", "DELETED"]
POLL_SECONDS = 3
ATTEMPTS = 3  # a DetectStackDrift the endpoint lacks answers 500: three tries, not the ten a stack operation gets


@dataclass(frozen=True)
class Drifted:
    top: str  # the top-level stack (root or service group)
    resource: str  # its logical id, through nested stacks: MainDatabase/Database
    resource_type: str
    status: str  # MODIFIED or DELETED
    properties: tuple[str, ...] = ()  # the property paths that differ


@dataclass(frozen=True)
class DriftReport:
    checked: int = 0  # stacks whose detection finished
    unchecked: tuple[str, ...] = ()  # "stack: why" for the others
    drifted: tuple[Drifted, ...] = ()
    unavailable: str = ""  # why no drift detection ran at all


def detect_drift(target: AwsTarget, stacks: Sequence[DeployedStack], timeout: float, say: Callable[[str], None]) -> DriftReport:
    """Start a detection on every stack, wait up to `timeout` seconds for them, read what drifted."""
    if not stacks:
        return DriftReport()
    cfn = target.session().client("cloudformation", region_name=target.region, endpoint_url=target.endpoint_url,
                                  config=client_config("cloudformation", bool(target.endpoint_url)).merge(
                                      botocore.config.Config(retries={"max_attempts": ATTEMPTS, "mode": "standard"})))
    started: dict[str, DeployedStack] = {}
    unchecked: list[str] = []
    for stack in stacks:
        try:
            started[cfn.detect_stack_drift(StackName=stack.name)["StackDriftDetectionId"]] = stack
        except AwsError as exc:
            if not started:
                return DriftReport(unavailable=unavailable(exc, target))
            unchecked.append(f"{stack.name}: {unavailable(exc, target)}")
    say(f"waiting up to {timeout:.0f} s for CloudFormation's drift detection on {len(started)} stack(s) "
        "(it compares each resource with its template; Ctrl-C stops waiting, nothing is changed)")
    finished = _wait(cfn, started, timeout, unchecked)
    drifted = [d for stack in finished for d in _drifted(cfn, stack)]
    return DriftReport(len(finished), tuple(unchecked), tuple(drifted))


def unavailable(exc: BaseException, target: AwsTarget) -> str:
    """Why drift detection cannot run, in a few words."""
    code = code_of(exc)
    if target.endpoint_url and (status_of(exc) >= 500 or not code):
        answer = f"HTTP {status_of(exc)}" if status_of(exc) else "an error page, not an AWS answer"
        return f"{target.endpoint_url} does not implement DetectStackDrift (it answered {answer}, {ATTEMPTS} times)"
    if is_busy(exc):
        return f"AWS is busy (DetectStackDrift: {code or type(exc).__name__}, after retries); plan again later"
    return f"DetectStackDrift refused: {message_of(exc)}"


def _wait(cfn: Any, started: dict[str, DeployedStack], timeout: float, unchecked: list[str]) -> list[DeployedStack]:
    """The stacks whose detection completed (or failed part-way, which still reports what it checked)."""
    deadline = time.monotonic() + timeout
    pending, finished = dict(started), []
    while pending:
        for detection, stack in list(pending.items()):
            try:
                status = cfn.describe_stack_drift_detection_status(StackDriftDetectionId=detection)
            except AwsError as exc:
                unchecked.append(f"{stack.name}: {message_of(exc)}")
                del pending[detection]
                continue
            if status.get("DetectionStatus") != "DETECTION_IN_PROGRESS":
                del pending[detection]
                finished.append(stack)
                if status.get("DetectionStatus") == "DETECTION_FAILED":
                    unchecked.append(f"{stack.name}: partly checked ({' '.join(str(status.get('DetectionStatusReason', '')).split())[:200]})")
        if pending and time.monotonic() > deadline:
            unchecked += [f"{s.name}: still detecting after {timeout:.0f} s" for s in pending.values()]
            break
        if pending:
            time.sleep(POLL_SECONDS)
    return finished


def _drifted(cfn: Any, stack: DeployedStack) -> list[Drifted]:
    found, token = [], None
    while True:
        page = cfn.describe_stack_resource_drifts(StackName=stack.name, StackResourceDriftStatusFilters=DRIFTED, **({"NextToken": token} if token else {}))
        for d in page.get("StackResourceDrifts", []):
            paths = tuple(sorted(p.get("PropertyPath", "") for p in d.get("PropertyDifferences", [])))
            found.append(Drifted(stack.top, stack.resource(d["LogicalResourceId"]), d.get("ResourceType", ""), d.get("StackResourceDriftStatus", ""), paths))
        token = page.get("NextToken")
        if not token:
            return sorted(found, key=lambda d: d.resource)
