"""`stack-cfn release`: ship a new image version of some services, and nothing else.

The release goes through the same change-set path as `deploy`. A change set that would touch
anything but the released services' nested stacks (someone changed the stack file and did not
deploy it) is refused and removed before anything runs. CloudFormation waits for each ECS service
to reach steady state; the services' circuit breakers roll a bad release back, and the release
then fails with the stopped tasks' reasons.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import botocore.exceptions

from stack_cfn.errors import ConfigError, DeployError
from stack_cfn.model.config import StackConfig
from stack_cfn.model.deployment import check_release_strategy
from stack_cfn.model.releases import Release, Sources
from stack_cfn.model.rules import quote
from stack_cfn.ship.aws import AwsTarget


def parse_requests(items: Sequence[str], version: str | None, images: Sequence[str]) -> dict[str, Release]:
    """`api=1.4.2 www=1.4.2`, or `api --version 1.4.2`; `--image api=registry/app` (or `--image registry/app` for one service)."""
    if version is not None:
        if len(items) != 1 or "=" in items[0]:
            raise ConfigError("--version", "goes with exactly one SERVICE", "write release api --version 1.4.2, or release api=1.4.2 www=1.4.2")
        items = [f"{items[0]}={version}"]
    if not items:
        raise ConfigError("SERVICE=VERSION", "is missing", "name at least one service, e.g. stack-cfn release api=1.4.2")
    requests: dict[str, Release] = {}
    for item in items:
        name, sep, tag = item.partition("=")
        if not sep or not name:
            raise ConfigError(item, "is not SERVICE=VERSION", "write it like api=1.4.2, or use --version with one service")
        if name in requests:
            raise ConfigError(name, "is released twice", "name each service once")
        requests[name] = Release(tag)
    for item in images:
        name, sep, image = item.partition("=")
        if not sep:
            if len(requests) != 1:
                raise ConfigError("--image", f"{quote(item)} names no service", "write it like --image api=registry.example.com/team/api")
            name, image = next(iter(requests)), item
        if name not in requests:
            raise ConfigError("--image", f"{name} is not being released", "release it too, e.g. api=1.4.2 --image api=...")
        requests[name] = Release(requests[name].version, image)
    for name, release in requests.items():
        release.check(name)
    return requests


def released_config(cfg: StackConfig, requests: Mapping[str, Release], strategy: str | None = None) -> StackConfig:
    """The description with the requested versions, each service or scheduled job checked to be in it (a job's image is
    released as a service's); with `strategy`, the released services' release strategy for this release only
    (model/deployment.py: among blue_green, canary and linear)."""
    services = {s.name: s for s in cfg.services}
    known = {*services, *(j.name for j in cfg.jobs)}
    unknown = sorted(set(requests) - known)
    if unknown:
        raise ConfigError(unknown[0], "is not a service of this stack", f"release one of: {', '.join(sorted(known)) or '(none)'}")
    deployments = {name: check_release_strategy(name, services[name].deployment, strategy) if strategy else services[name].deployment
                   for name in requests if name in services}
    released_services = tuple(dataclasses.replace(s, version=requests[s.name].version, image=requests[s.name].image or s.image,
                                                  deployment=deployments[s.name]) if s.name in requests else s for s in cfg.services)
    released_jobs = tuple(dataclasses.replace(j, version=requests[j.name].version, image=requests[j.name].image or j.image)
                          if j.name in requests else j for j in cfg.jobs)
    return cfg.with_changes(services=released_services, jobs=released_jobs)


def recorded(requests: Mapping[str, Release], sources: Sources) -> dict[str, Release]:
    """What the releases file records: each release over the stack file's own version (and image, when the release changes it),
    so that editing the stack file since makes the stack file win (model/releases.py)."""
    return {name: Release(r.version, r.image, sources.stack_file[name].version, sources.stack_file[name].image if r.image else "")
            for name, r in requests.items()}


def foreign_changes(changes: Iterable[Mapping[str, Any]], logical_ids: Iterable[str]) -> list[str]:
    """Changes a release may not carry: anything outside the released services' nested stacks."""
    allowed = set(logical_ids)
    return sorted({c.get("LogicalResourceId", "?") for c in changes if c.get("LogicalResourceId", "").split("/")[0] not in allowed})


def stopped_reasons(target: AwsTarget, cluster: str, services: Iterable[str], limit: int = 5) -> list[str]:
    """Why the released services' latest tasks stopped (what a failing deployment shows in ECS)."""
    ecs = target.client("ecs")
    reasons: list[str] = []
    try:
        for service in services:
            # By task family (the service's name in the stack file): CloudFormation names the ECS service itself.
            arns = ecs.list_tasks(cluster=cluster, family=service, desiredStatus="STOPPED").get("taskArns", [])[:limit]
            for task in ecs.describe_tasks(cluster=cluster, tasks=arns).get("tasks", []) if arns else []:
                containers = "; ".join(c.get("reason", "") for c in task.get("containers", []) if c.get("reason"))
                reasons.append(f"{service}: {task.get('stoppedReason', 'stopped')}" + (f" ({containers})" if containers else ""))
    except botocore.exceptions.ClientError as exc:
        reasons.append(f"(ECS did not say why: {exc.response['Error'].get('Message', exc)})")
    return reasons[:limit]


def failed(stack: str, status: str, stack_reasons: list[str], task_reasons: list[str]) -> DeployError:
    said = "; ".join(task_reasons + stack_reasons) or "see the stack's events and the services' stopped tasks"
    return DeployError(f"release of {stack} ended {status}, the services were rolled back: {said}")
