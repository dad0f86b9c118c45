"""`stack-cfn release --abort`: stop an in-flight release and put the previous revision back.

Two steps, in this order:
1. every in-flight ECS service deployment (PENDING or IN_PROGRESS) of the stack's services is stopped with
   StopServiceDeployment, stopType ROLLBACK: ECS puts the previous service revision back at once (with
   blue/green, canary and linear a weight flip to the blue target group, with no task launched), even where
   the deployment was not configured to roll back (model/aws_facts.py, deployment strategies);
2. every stack of ours still UPDATE_IN_PROGRESS (the root, service groups) is cancelled (CancelUpdateStack):
   CloudFormation rolls the template back to the last deployed one instead of waiting for the stopped
   deployment to time out, so the stack file's previous version and the running revision agree again.
Stopping the ECS deployment first is what makes the abort fast: a cancelled stack update alone would start
another full deployment of the old revision (with its bake time) to roll back.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import botocore.exceptions

from stack_cfn.model import aws_facts as F

ROLLING_BACK = "UPDATE_IN_PROGRESS"  # the only state CancelUpdateStack accepts (CloudFormation API CancelUpdateStack)


@dataclass(frozen=True)
class AbortRequest:
    """Which stacks and ECS services to stop: the stack's cluster, its services by stack-file name (their task family)."""

    stacks: tuple[str, ...]
    cluster: str
    services: tuple[str, ...]


@dataclass(frozen=True)
class AbortResult:
    stopped: tuple[str, ...] = ()  # "<service>: <service deployment ARN>" rolled back
    cancelled: tuple[str, ...] = ()  # stacks whose update was cancelled
    problems: tuple[str, ...] = ()  # what could not be asked or done (the abort is then incomplete)

    @property
    def nothing_in_flight(self) -> bool:
        return not (self.stopped or self.cancelled or self.problems)


def _message(exc: botocore.exceptions.ClientError) -> str:
    """The error on one line; an HTML error page (a proxy's, a local AWS's) as its HTTP status."""
    error = exc.response.get("Error", {})
    text = str(error.get("Message", exc))
    if text.lstrip().startswith("<"):
        text = f"an HTTP {exc.response.get('ResponseMetadata', {}).get('HTTPStatusCode', '?')} error page"
    return f"{error.get('Code', '?')}: {' '.join(text.split())[:160]}"


def service_arns(ecs: Any, cluster: str, families: Iterable[str]) -> dict[str, str]:
    """The ECS services of `cluster` running one of `families` (CloudFormation names the services; the task family is the stack file's name)."""
    wanted = set(families)
    arns = [a for page in ecs.get_paginator("list_services").paginate(cluster=cluster) for a in page["serviceArns"]]
    found: dict[str, str] = {}
    for i in range(0, len(arns), 10):  # DescribeServices takes at most 10 services
        for s in ecs.describe_services(cluster=cluster, services=arns[i:i + 10])["services"]:
            family = s.get("taskDefinition", "").rsplit("/", 1)[-1].split(":")[0]
            if s.get("status") == "ACTIVE" and family in wanted:
                found[family] = s["serviceArn"]
    return found


def _stop_deployments(ecs: Any, cluster: str, services: Iterable[str]) -> tuple[list[str], list[str]]:
    stopped: list[str] = []
    problems: list[str] = []
    try:
        arns = service_arns(ecs, cluster, services)
    except botocore.exceptions.ClientError as exc:
        return [], [f"ECS did not list the services of {cluster} ({_message(exc)})"]
    for name, arn in sorted(arns.items()):
        try:
            listed = ecs.list_service_deployments(cluster=cluster, service=arn, status=list(F.STOPPABLE_DEPLOYMENT_STATES))
            for deployment in listed.get("serviceDeployments", []):
                ecs.stop_service_deployment(serviceDeploymentArn=deployment["serviceDeploymentArn"], stopType=F.STOP_DEPLOYMENT_TYPE)
                stopped.append(f"{name}: {deployment['serviceDeploymentArn']}")
        except botocore.exceptions.ClientError as exc:
            problems.append(f"{name}: ECS did not list or stop its deployments ({_message(exc)})")
    return stopped, problems


def _cancel_updates(cfn: Any, stacks: Iterable[str]) -> tuple[list[str], list[str]]:
    cancelled: list[str] = []
    problems: list[str] = []
    for stack in stacks:
        try:
            status = cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
            if status == ROLLING_BACK:
                cfn.cancel_update_stack(StackName=stack)
                cancelled.append(stack)
        except botocore.exceptions.ClientError as exc:
            if "does not exist" not in _message(exc):  # a service group not deployed yet has nothing to cancel
                problems.append(f"{stack}: CloudFormation did not cancel its update ({_message(exc)})")
    return cancelled, problems


def abort_release(ecs: Any, cfn: Any, request: AbortRequest) -> AbortResult:
    """Stop the stack's in-flight ECS deployments (rollback), then cancel its stacks' in-progress updates."""
    stopped, ecs_problems = _stop_deployments(ecs, request.cluster, request.services)
    cancelled, cfn_problems = _cancel_updates(cfn, request.stacks)
    return AbortResult(tuple(stopped), tuple(cancelled), tuple(ecs_problems + cfn_problems))
