"""`stackset`: the stack as a StackSet over regions (and accounts), in one operation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from stack_cfn import app
from stack_cfn.app import AwsOptions, BucketOptions, StackFile
from stack_cfn.errors import DeployError
from stack_cfn.model.aws_facts import partition_of
from stack_cfn.ship.report import Progress

if TYPE_CHECKING:
    from stack_cfn.ship.stackset import StackSetResult


@dataclass(frozen=True)
class StackSetRequest:
    source: StackFile
    aws: AwsOptions
    bucket: BucketOptions
    regions: tuple[str, ...]  # typed at the edge (flags.regions): known, once each, one partition
    region_cidrs: tuple[tuple[str, str], ...] = ()  # (REGION, CIDR) pairs, one per region
    name: str | None = None  # None: <name>-<environment>
    accounts: tuple[str, ...] | None = None  # None: the caller's account
    failure_tolerance: int = 0
    max_concurrent: int = 1
    administration_role_arn: str | None = None
    execution_role_name: str | None = None


@dataclass(frozen=True)
class StackSetOutcome:
    result: StackSetResult

    @property
    def failure(self) -> str | None:
        """Why the operation did not succeed everywhere (None: it did)."""
        failed = [i for i in self.result.instances if i.status != "CURRENT"]
        if failed or self.result.operation_status != "SUCCEEDED":
            return f"stack set {self.result.name}: operation {self.result.operation_status}, {len(failed)} instance(s) not CURRENT"
        return None


def stackset(request: StackSetRequest, out: Progress) -> StackSetOutcome:
    from stack_cfn.blueprints.compiler import compile_stack
    from stack_cfn.ship import stackset as ship_stackset

    cfg = app.load(request.source, out)
    regions = list(request.regions)
    plans = ship_stackset.region_plans(cfg, regions, dict(request.region_cidrs))  # validated before anything is compiled or sent
    region = request.aws.region
    if region is not None and partition_of(region) != partition_of(regions[0]):
        raise DeployError(f"--regions: {regions[0]} is in partition {partition_of(regions[0])} but --region {region} is in "
                          f"{partition_of(region)}; a stack set is administered from a region of the partition it deploys to")
    compiled = app.compile_and_lint(request.source, cfg, out, compile_stack(cfg, ship_stackset.region_mapping(plans)))
    target = app.target_for(request.source, request.aws, cfg, out)
    uploaded = app.upload(request.bucket, out, target, compiled)
    if partition_of(target.region) != partition_of(regions[0]):
        raise DeployError(f"--regions: {regions[0]} is in partition {partition_of(regions[0])} but the run's region {target.region} is not; "
                          "a stack set is administered from a region of the partition it deploys to")
    name = request.name if request.name is not None else cfg.stack_name
    with out.step(f"waiting for stack set {name}", f"stopped waiting; the operation keeps going (aws cloudformation list-stack-set-operations --stack-set-name {name})"):
        result = ship_stackset.deploy_stack_set(
            target, name, uploaded.root_url, plans,
            list(request.accounts) if request.accounts is not None else None,
            failure_tolerance=request.failure_tolerance, max_concurrent=request.max_concurrent,
            administration_role_arn=request.administration_role_arn, execution_role_name=request.execution_role_name,
            on_progress=out.info, timeout=request.aws.timeout * 60, capabilities=app.required_capabilities(compiled, compiled.root),
        )
    return StackSetOutcome(result)
