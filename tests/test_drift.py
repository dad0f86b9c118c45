"""Drift detection before a plan (ship/drift.py), against a scripted CloudFormation: the path the local AWS cannot take
(moto 5.2.5 has no DetectStackDrift). Each stack is detected on its own, nested ones included; the wait is bounded;
a drifted resource the deploy modifies is said to be set back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import botocore.exceptions
import pytest

from stack_cfn.model.changes import Changes
from stack_cfn.ship import drift
from stack_cfn.ship.deployed import DeployedStack
from stack_cfn.usecases.changes_text import drift_text
from stack_cfn.usecases.plan_checks import PlanChecks


@dataclass
class ScriptedCfn:
    """DetectStackDrift and friends, as the API Reference describes them; `slow` stacks never finish."""

    drifts: dict[str, list[dict[str, Any]]]
    slow: set[str] = field(default_factory=set)
    refuse: bool = False
    detected: list[str] = field(default_factory=list)

    def detect_stack_drift(self, StackName: str) -> dict[str, str]:  # noqa: N803  boto3's names
        if self.refuse:
            raise botocore.exceptions.ClientError({"Error": {"Code": "AccessDenied", "Message": "not allowed: cloudformation:DetectStackDrift"},
                                                   "ResponseMetadata": {"HTTPStatusCode": 403}}, "DetectStackDrift")
        self.detected.append(StackName)
        return {"StackDriftDetectionId": f"id-{StackName}"}

    def describe_stack_drift_detection_status(self, StackDriftDetectionId: str) -> dict[str, str]:  # noqa: N803
        name = StackDriftDetectionId.removeprefix("id-")
        return {"DetectionStatus": "DETECTION_IN_PROGRESS" if name in self.slow else "DETECTION_COMPLETE"}

    def describe_stack_resource_drifts(self, StackName: str, StackResourceDriftStatusFilters: list[str]) -> dict[str, Any]:  # noqa: N803
        assert StackResourceDriftStatusFilters == ["MODIFIED", "DELETED"]
        return {"StackResourceDrifts": self.drifts.get(StackName, [])}


@dataclass(frozen=True)
class ScriptedTarget:
    cfn: ScriptedCfn
    region: str = "us-east-1"
    endpoint_url: str | None = None

    def session(self) -> ScriptedTarget:
        return self

    def client(self, *args: Any, **kwargs: Any) -> ScriptedCfn:
        return self.cfn


STACKS = [DeployedStack("app", "app"), DeployedStack("arn:nested-db", "app", "MainDatabase"), DeployedStack("app-services-1", "app-services-1")]
SCALED = {"LogicalResourceId": "Service", "ResourceType": "AWS::ECS::Service", "StackResourceDriftStatus": "MODIFIED",
          "PropertyDifferences": [{"PropertyPath": "/DesiredCount", "ExpectedValue": "1", "ActualValue": "4", "DifferenceType": "NOT_EQUAL"}]}
GONE = {"LogicalResourceId": "Database", "ResourceType": "AWS::RDS::DBInstance", "StackResourceDriftStatus": "DELETED"}


def test_every_stack_is_detected_on_its_own_and_drift_is_named_by_its_path() -> None:
    """AWS rule (API Reference, DetectStackDrift): drift detection on a stack does not look into its nested stacks."""
    cfn = ScriptedCfn({"arn:nested-db": [GONE], "app-services-1": [SCALED]})
    report = drift.detect_drift(ScriptedTarget(cfn), STACKS, 10, lambda _: None)  # type: ignore[arg-type]  # a scripted target
    assert cfn.detected == ["app", "arn:nested-db", "app-services-1"]
    assert [(d.top, d.resource, d.status, d.properties) for d in report.drifted] == [
        ("app", "MainDatabase/Database", "DELETED", ()), ("app-services-1", "Service", "MODIFIED", ("/DesiredCount",))]
    assert report.checked == 3 and report.unchecked == () and report.unavailable == ""


def test_the_wait_is_bounded_and_says_what_it_waits_for(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(drift, "POLL_SECONDS", 0)
    said: list[str] = []
    report = drift.detect_drift(ScriptedTarget(ScriptedCfn({}, slow={"app-services-1"})), STACKS, 0.2, said.append)  # type: ignore[arg-type]
    assert said == ["waiting up to 0 s for CloudFormation's drift detection on 3 stack(s) "
                    "(it compares each resource with its template; Ctrl-C stops waiting, nothing is changed)"]
    assert report.checked == 2 and report.unchecked == ("app-services-1: still detecting after 0 s",)


def test_refused_drift_detection_is_one_line_not_a_crash() -> None:
    report = drift.detect_drift(ScriptedTarget(ScriptedCfn({}, refuse=True)), STACKS, 10, lambda _: None)  # type: ignore[arg-type]
    assert report.unavailable == "DetectStackDrift refused: not allowed: cloudformation:DetectStackDrift"
    assert drift_text(report, set()) == "drift detection unavailable: DetectStackDrift refused: not allowed: cloudformation:DetectStackDrift\n"


@dataclass
class ChangeSetLike:
    stack_name: str
    changes: list[dict[str, str]]


def test_a_drifted_resource_the_deploy_modifies_is_set_back_and_one_it_leaves_keeps_its_drift() -> None:
    report = drift.detect_drift(ScriptedTarget(ScriptedCfn({"arn:nested-db": [GONE], "app-services-1": [SCALED]})), STACKS, 10,  # type: ignore[arg-type]
                                lambda _: None)
    checks = PlanChecks(True, report, Changes((), 0), {"stack.json": "app", "services-1.json": "app-services-1"})
    reverted = checks.reverted([ChangeSetLike("app-services-1", [{"LogicalResourceId": "Service", "Action": "Modify"}]),
                                ChangeSetLike("app", [{"LogicalResourceId": "MainDatabase", "Action": "Modify"}])])
    assert reverted == {("app-services-1", "Service")}
    lines = drift_text(report, reverted).splitlines()
    assert lines == ["drift (CloudFormation's drift detection on 3 stack(s)):",
                     "  ! MainDatabase/Database (AWS::RDS::DBInstance) in app DELETED; this deploy does not touch it: the drift stays",
                     "  ! Service (AWS::ECS::Service) in app-services-1 MODIFIED: /DesiredCount; the deploy modifies it, "
                     "setting the drifted values back to the template's"]
