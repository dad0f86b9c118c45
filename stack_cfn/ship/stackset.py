"""StackSets: the whole stack in many regions (and accounts) as one CloudFormation operation.

Each region's VPC CIDR is shifted by the region's index in the list (10.30 ->
10.31 -> 10.32, the seed's multi-region rule), or set per region. The shifted
plans go into the root template as a `RegionNetwork` mapping read with
`Fn::FindInMap [RegionNetwork, AWS::Region, ...]`, so one create/update
operation serves every region; CloudFormation runs it with the failure
tolerance and concurrency given, and there is no loop over regions here.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import botocore.exceptions

from stack_cfn.blueprints.network_contract import Network
from stack_cfn.errors import ConfigError, DeployError
from stack_cfn.model.aws_checks import check_aws_rules
from stack_cfn.model.cidr import SubnetPlan, explicit_plan, parse_vpc_cidr, plan_subnets, shift_for_region
from stack_cfn.model.config import StackConfig
from stack_cfn.model.regions import is_known_region
from stack_cfn.ship.aws import AwsTarget

DONE = {"SUCCEEDED", "FAILED", "STOPPED"}


@dataclass(frozen=True)
class RegionPlan:
    region: str
    plan: SubnetPlan

    def network_parameters(self) -> dict[str, str]:
        """The network's address parameters, named by the network's own contract."""
        params = {Network.Cidr.name: str(self.plan.vpc)}
        for i, (internal, external) in enumerate(zip(self.plan.internal, self.plan.external, strict=True)):
            params[Network.InternalSubnetCidr.at(i).name] = str(internal)
            params[Network.ExternalSubnetCidr.at(i).name] = str(external)
        return params


def region_plans(cfg: StackConfig, regions: Sequence[str], cidrs: Mapping[str, str] | None = None) -> tuple[RegionPlan, ...]:
    """Validate the region list and give each region its address plan."""
    cidrs = dict(cidrs or {})
    if cfg.iam_users:
        # IAM users are global and named <nested stack name>-<user> (blueprints/iam_user.py): in a StackSet instance that
        # is StackSet-<set>-<uuid>-<User>-<suffix>-<user>, past IAM's 64 characters for a user name (IAM User Guide,
        # "IAM object quotas"), and one per region would collide in the account.
        raise ConfigError(f"iam_users.{cfg.iam_users[0].name}", "cannot be part of a StackSet (IAM users are global, and their names would pass "
                          "IAM's 64 characters)", "deploy the users once with stack-cfn deploy, in a stack file of their own")
    if not regions:
        raise ConfigError("--regions", "is empty", "give at least one region, e.g. --regions us-east-1,us-west-2")
    seen: set[str] = set()
    for region in regions:
        if region in seen:
            raise ConfigError("--regions", f"{region} is listed twice", "list each region once")
        if not is_known_region(region):
            raise ConfigError("--regions", f"{region!r} is not an AWS region stack-cfn knows", "use region names such as us-east-1")
        check_aws_rules(cfg, region)  # what each region offers, its partition's ARNs (model/aws_checks.py)
        seen.add(region)
    for region in cidrs:
        if region not in seen:
            raise ConfigError("--region-cidr", f"{region} is not in --regions", "add it to --regions or drop its CIDR")
    plans = []
    for index, region in enumerate(regions):
        if region in cidrs:
            vpc = parse_vpc_cidr(cidrs[region], f"--region-cidr {region}")
            plan = plan_subnets(vpc, cfg.zone_count) if not cfg.internal_subnets else _move_explicit(cfg, vpc)
        else:
            plan = shift_for_region(cfg.plan, index)
        plans.append(RegionPlan(region, plan))
    for i, a in enumerate(plans):
        for b in plans[:i]:
            if a.plan.vpc.overlaps(b.plan.vpc):
                raise ConfigError(
                    "--regions", f"{a.region} and {b.region} both map to {a.plan.vpc if a.plan.vpc == b.plan.vpc else f'{a.plan.vpc} / {b.plan.vpc}'}",
                    "give each region its own CIDR (--region-cidr REGION=CIDR)",
                )
    return tuple(plans)


def _move_explicit(cfg: StackConfig, vpc: ipaddress.IPv4Network) -> SubnetPlan:
    offset = int(vpc.network_address) - int(cfg.plan.vpc.network_address)
    move = lambda n: str(ipaddress.ip_network((int(n.network_address) + offset, n.prefixlen)))  # noqa: E731
    return explicit_plan(vpc, [move(n) for n in cfg.plan.internal], [move(n) for n in cfg.plan.external], cfg.zone_count)


def region_mapping(plans: Sequence[RegionPlan]) -> dict[str, dict[str, str]]:
    """The root template's RegionNetwork mapping."""
    return {p.region: p.network_parameters() for p in sorted(plans, key=lambda p: p.region)}


@dataclass(frozen=True)
class Instance:
    account: str
    region: str
    cidr: str
    status: str
    reason: str


@dataclass(frozen=True)
class StackSetResult:
    name: str
    operation_status: str
    instances: tuple[Instance, ...]


def deploy_stack_set(
    target: AwsTarget,
    name: str,
    template_url: str,
    plans: Sequence[RegionPlan],
    accounts: Sequence[str] | None = None,
    parameters: Mapping[str, str] | None = None,
    failure_tolerance: int = 0,
    max_concurrent: int = 1,
    administration_role_arn: str | None = None,
    execution_role_name: str | None = None,
    on_progress: Callable[[str], None] = lambda _: None,
    timeout: float = 3600,
    capabilities: Sequence[str] = (),
) -> StackSetResult:
    """Create or update the stack set, add instances for new regions, wait, report each instance."""
    if failure_tolerance < 0 or max_concurrent < 1:
        raise ConfigError("--failure-tolerance/--max-concurrent", "must be >= 0 and >= 1", "for example --failure-tolerance 0 --max-concurrent 2")
    cfn = target.client("cloudformation")
    accounts = list(accounts or [target.client("sts").get_caller_identity()["Account"]])
    regions = [p.region for p in plans]
    prefs = {"FailureToleranceCount": failure_tolerance, "MaxConcurrentCount": max_concurrent}
    roles: dict[str, str] = {}
    if administration_role_arn:
        roles["AdministrationRoleARN"] = administration_role_arn
    if execution_role_name:
        roles["ExecutionRoleName"] = execution_role_name
    params = [{"ParameterKey": k, "ParameterValue": str(v)} for k, v in sorted((parameters or {}).items())]
    existing = _describe(cfn, name)
    if existing is None:
        on_progress(f"creating stack set {name}")
        cfn.create_stack_set(StackSetName=name, TemplateURL=template_url, Capabilities=list(capabilities), Parameters=params, **roles)
        have: set[tuple[str, str]] = set()
    else:
        have = {(i["Account"], i["Region"]) for i in _instances(cfn, name)}
        if have:
            on_progress(f"updating stack set {name} in {len(have)} instance(s)")
            op = cfn.update_stack_set(StackSetName=name, TemplateURL=template_url, Capabilities=list(capabilities), Parameters=params,
                                      OperationPreferences=prefs, **roles)
            _wait(cfn, name, op["OperationId"], on_progress, timeout)
    missing = [r for r in regions if any((a, r) not in have for a in accounts)]
    status = "SUCCEEDED"
    if missing:
        on_progress(f"adding instances in {', '.join(missing)} for account(s) {', '.join(accounts)}")
        op = cfn.create_stack_instances(StackSetName=name, Accounts=accounts, Regions=missing, OperationPreferences=prefs)
        status = _wait(cfn, name, op["OperationId"], on_progress, timeout)
    cidr = {p.region: str(p.plan.vpc) for p in plans}
    instances = tuple(
        Instance(i["Account"], i["Region"], cidr.get(i["Region"], "-"), i.get("Status", "?"), i.get("StatusReason", ""))
        for i in sorted(_instances(cfn, name), key=lambda i: (i["Account"], i["Region"]))
        if i["Region"] in cidr
    )
    return StackSetResult(name=name, operation_status=status, instances=instances)


def _describe(cfn: Any, name: str) -> dict[str, Any] | None:
    try:
        return cfn.describe_stack_set(StackSetName=name)["StackSet"]
    except botocore.exceptions.ClientError as exc:
        if exc.response["Error"].get("Code") in ("StackSetNotFoundException", "StackSetNotFound") or "not found" in str(exc).lower():
            return None
        raise


def _instances(cfn: Any, name: str) -> list[dict[str, Any]]:
    return [s for page in cfn.get_paginator("list_stack_instances").paginate(StackSetName=name) for s in page["Summaries"]]


def _wait(cfn: Any, name: str, operation_id: str, on_progress: Callable[[str], None], timeout: float = 3600) -> str:
    deadline = time.monotonic() + timeout
    last = ""
    while True:
        status = cfn.describe_stack_set_operation(StackSetName=name, OperationId=operation_id)["StackSetOperation"]["Status"]
        if status != last:
            on_progress(f"operation {operation_id}: {status} (waiting up to {timeout / 60:.0f} min)")
            last = status
        if status in DONE:
            return status
        if time.monotonic() > deadline:
            raise DeployError(f"stack set operation {operation_id} is still {status}; watch it with aws cloudformation describe-stack-set-operation")
        time.sleep(3)
