"""The commands that read a deployed stack and change nothing: outputs, roll."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from stack_cfn import app
from stack_cfn.app import AwsOptions, StackFile
from stack_cfn.ship.report import Progress

if TYPE_CHECKING:
    from stack_cfn.ship.roll import RollPlan


@dataclass(frozen=True)
class OutputsRequest:
    source: StackFile
    aws: AwsOptions


@dataclass(frozen=True)
class OutputsResult:
    page: dict[str, Any]  # ship/outputs.read_front_page: network, cluster, each service's URLs, databases, IAM users, alarms


def outputs(request: OutputsRequest, out: Progress) -> OutputsResult:
    """The stack's front page, read from the root, its nested stacks and its service groups."""
    from stack_cfn.ship import outputs as ship_outputs

    cfg = app.optional_config(request.source)
    target = app.target_for(request.source, request.aws, cfg, out)
    stack = app.stack_name_for(request.source, request.aws, cfg)
    with out.step(f"reading the outputs of {stack}", "nothing was changed"):
        return OutputsResult(ship_outputs.read_front_page(target, stack, cfg))


@dataclass(frozen=True)
class RollRequest:
    source: StackFile
    aws: AwsOptions
    ami: str | None = None  # the new image (None: ecs_ami, else the ECS-optimized image SSM names today)


@dataclass(frozen=True)
class RollResult:
    plan: RollPlan


def roll(request: RollRequest, out: Progress) -> RollResult:
    """What an AMI change will replace, in which batches, and the capacity kept in service; changes nothing."""
    from stack_cfn.ship import roll as ship_roll

    cfg = app.load(request.source, out)
    target = app.target_for(request.source, request.aws, cfg, out)
    stack = app.stack_name_for(request.source, request.aws, cfg)
    with out.step("reading the cluster", "nothing was changed"):
        group, cluster = ship_roll.read_cluster(target, stack)
        image = ship_roll.target_image(target, request.ami, cfg.ecs_ami)
        return RollResult(ship_roll.plan_roll(ship_roll.read_instances(target, group, cluster), image, cfg.ecs_min_size, group))
