"""`stack-cfn roll`: what an AMI change will do to the running cluster, read from AWS, changing nothing.

The cluster's Auto Scaling group replaces instances through CloudFormation's rolling update
(interfaces: MaxBatchSize 1, MinInstancesInService = ecs_min_size, PauseTime 5 min) in the order of
its termination policies (oldest launch template first, then oldest instance). ECS managed
instance draining (the cluster's capacity provider) holds each termination until the instance's
service tasks run elsewhere. This module reads the group, its instances, their images and the
tasks on them, and lays out the batches.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import botocore.exceptions

from stack_cfn.blueprints.cluster_contract import ECS_AMI_SSM, Cluster
from stack_cfn.errors import DeployError
from stack_cfn.ship.aws import AwsTarget
from stack_cfn.ship.deploy import nested_stacks, stack_outputs, stack_status

MAX_BATCH = 1
PAUSE = "5 min"


@dataclass(frozen=True)
class Instance:
    id: str
    zone: str
    image: str
    template_version: str
    launched: str
    tasks: int


@dataclass(frozen=True)
class Batch:
    number: int
    replace: tuple[str, ...]
    launch_first: int  # new instances launched before any old one goes, to keep the minimum in service
    in_service: int  # the fewest instances in service during the batch


@dataclass(frozen=True)
class RollPlan:
    group: str
    target_image: str
    min_in_service: int
    instances: tuple[Instance, ...]
    batches: tuple[Batch, ...]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def plan_roll(instances: list[Instance], target_image: str, min_in_service: int, group: str) -> RollPlan:
    """Batches of MAX_BATCH old instances, oldest launch template first, keeping min_in_service in service."""
    old = sorted((i for i in instances if i.image != target_image), key=lambda i: (_version(i.template_version), i.launched, i.id))
    batches = []
    total = len(instances)
    for n, start in enumerate(range(0, len(old), MAX_BATCH), 1):
        chunk = old[start:start + MAX_BATCH]
        launch_first = max(0, min_in_service - (total - len(chunk)))
        batches.append(Batch(n, tuple(i.id for i in chunk), launch_first, total - len(chunk) + launch_first))
    return RollPlan(group, target_image, min_in_service, tuple(instances), tuple(batches))


def plan_text(plan: RollPlan) -> str:
    """The plan for people, in plain aligned columns as wide as their longest value: an instance or AMI id is never cut,
    whatever the terminal's width (a table fitted to 80 columns cut them)."""
    old = sum(1 for i in plan.instances if i.image != plan.target_image)
    lines = [f"AMI change on {plan.group}: {old} of {len(plan.instances)} instance(s) run another image than {plan.target_image}"]
    if not plan.batches:
        return "\n".join([*lines, "nothing to replace: every instance runs the target image"]) + "\n"
    rows = [("instance", "zone", "image", "launch template version", "tasks")]
    rows += [(i.id, i.zone, i.image, i.template_version, str(i.tasks)) for i in plan.instances]
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    lines += ["  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    for b in plan.batches:
        first = f"launch {b.launch_first} new instance(s), then " if b.launch_first else ""
        lines.append(f"batch {b.number}: {first}drain and terminate {', '.join(b.replace)}; at least {b.in_service} in service")
    lines.append(f"ecs_min_size {plan.min_in_service} is kept in service (MinInstancesInService); one instance per batch, {PAUSE} apart; "
                 "ECS managed instance draining moves each instance's tasks before it terminates. Run stack-cfn deploy to roll.")
    return "\n".join(lines) + "\n"


def _version(text: str) -> int:
    return int(text) if text.isdigit() else 0


def read_cluster(target: AwsTarget, stack: str) -> tuple[str, str]:
    """The cluster's Auto Scaling group and ECS cluster name, from the cluster layer's outputs."""
    cfn = target.client("cloudformation")
    if stack_status(cfn, stack) is None:
        raise DeployError(f"stack {stack} does not exist; deploy it first (stack-cfn deploy)")
    layer = nested_stacks(cfn, stack).get(Cluster.logical_id)
    outputs = stack_outputs(cfn, layer) if layer else {}
    if Cluster.Outputs.AutoscalingGroup.name not in outputs:
        raise DeployError(f"stack {stack} has no cluster layer with an {Cluster.Outputs.AutoscalingGroup.name} output; is it a stack-cfn root stack?")
    return outputs[Cluster.Outputs.AutoscalingGroup.name], outputs[Cluster.Outputs.Cluster.name]


def target_image(target: AwsTarget, ami: str | None, ecs_ami: str) -> str:
    """--ami, else the description's ecs_ami, else what the ECS-optimized image parameter names today."""
    if ami or ecs_ami:
        return ami or ecs_ami
    try:
        return str(target.client("ssm").get_parameter(Name=ECS_AMI_SSM)["Parameter"]["Value"])
    except botocore.exceptions.ClientError as exc:
        raise DeployError(f"--ami: the ECS-optimized image parameter {ECS_AMI_SSM} cannot be read ({exc.response['Error'].get('Code')}); "
                          "pass the new image with --ami ami-...") from None


def read_instances(target: AwsTarget, group: str, cluster: str) -> list[Instance]:
    asg = target.client("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[group])["AutoScalingGroups"]
    if not asg:
        raise DeployError(f"the Auto Scaling group {group} does not exist any more; deploy the stack again")
    members = [m for m in asg[0].get("Instances", []) if m.get("LifecycleState") == "InService"]
    if not members:
        return []
    reservations = target.client("ec2").describe_instances(InstanceIds=[m["InstanceId"] for m in members])["Reservations"]
    ec2 = {i["InstanceId"]: i for r in reservations for i in r["Instances"]}
    tasks = _tasks_by_instance(target, cluster)
    return [Instance(m["InstanceId"], m.get("AvailabilityZone", ""), ec2.get(m["InstanceId"], {}).get("ImageId", "?"),
                     str(m.get("LaunchTemplate", {}).get("Version", "")), str(ec2.get(m["InstanceId"], {}).get("LaunchTime", "")),
                     tasks.get(m["InstanceId"], 0)) for m in members]


def _tasks_by_instance(target: AwsTarget, cluster: str) -> dict[str, int]:
    ecs = target.client("ecs")
    arns = [a for page in ecs.get_paginator("list_container_instances").paginate(cluster=cluster) for a in page["containerInstanceArns"]]
    counts: dict[str, int] = {}
    for start in range(0, len(arns), 100):
        for ci in ecs.describe_container_instances(cluster=cluster, containerInstances=arns[start:start + 100])["containerInstances"]:
            counts[ci["ec2InstanceId"]] = ci.get("runningTasksCount", 0)
    return counts
