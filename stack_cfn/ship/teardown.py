"""What keeps a stack from being deleted, cleared before `destroy` deletes it.

With `ecs_scaling: managed`, the capacity provider has managed termination protection: ECS sets
ProtectedFromScaleIn on the Auto Scaling group's instances (and the group protects new instances), and deleting
the capacity provider does not clear those flags. CloudFormation then waits forever for the group to lose its
instances: the stack hangs in DELETE_IN_PROGRESS (aws/aws-cdk#18179, aws/aws-cdk#14732;
aws/containers-roadmap#2862 "Clean up ASG instance scale-in protection when ECS Capacity Provider is deleted").
So before the root is deleted: turn managed termination protection off on the cluster's capacity providers (so
ECS sets no new flags), stop protecting new instances, and clear the flag on every instance of the group.
"""

from __future__ import annotations

from collections.abc import Iterator

import botocore.exceptions

from stack_cfn.blueprints.cluster_contract import Cluster
from stack_cfn.ship.aws import AwsTarget
from stack_cfn.ship.aws_errors import busy_means
from stack_cfn.ship.deploy import nested_stacks, stack_outputs

BATCH = 50  # SetInstanceProtection takes at most 50 instance ids


def cluster_of(target: AwsTarget, stack: str) -> tuple[str, str] | None:
    """(Auto Scaling group, ECS cluster) from the cluster layer's outputs, or None when the stack has no cluster layer."""
    cfn = target.client("cloudformation")
    try:
        layer = nested_stacks(cfn, stack).get(Cluster.logical_id)
        outputs = stack_outputs(cfn, layer) if layer else {}
    except botocore.exceptions.ClientError:
        return None
    group, cluster = outputs.get(Cluster.Outputs.AutoscalingGroup.name), outputs.get(Cluster.Outputs.Cluster.name)
    return (group, cluster) if group and cluster else None


def unblock(target: AwsTarget, stack: str, left: str = "nothing was deleted") -> Iterator[str]:
    """Clear scale-in protection on the cluster's group; say what was cleared (nothing when nothing was set)."""
    with busy_means("clearing scale-in protection", left):
        found = cluster_of(target, stack)
        if found is None:
            return
        group, cluster = found
        yield from _managed_protection_off(target, group, cluster)
        yield from _instances_unprotected(target, group)


def _managed_protection_off(target: AwsTarget, group: str, cluster: str) -> Iterator[str]:
    ecs = target.client("ecs")
    try:
        names = [n for c in ecs.describe_clusters(clusters=[cluster]).get("clusters", []) for n in c.get("capacityProviders", [])]
        providers = ecs.describe_capacity_providers(capacityProviders=names).get("capacityProviders", []) if names else []
    except botocore.exceptions.ClientError:
        return
    for provider in providers:
        asg = provider.get("autoScalingGroupProvider") or {}
        if asg.get("managedTerminationProtection") == "ENABLED" and asg.get("autoScalingGroupArn", "").endswith(f"/{group}"):
            try:
                ecs.update_capacity_provider(name=provider["name"], autoScalingGroupProvider={"managedTerminationProtection": "DISABLED"})
                yield f"turned managed termination protection off on capacity provider {provider['name']}"
            except botocore.exceptions.ClientError:
                pass  # an older or local ECS that cannot: the instance flags below are what blocks deletion


def _instances_unprotected(target: AwsTarget, group: str) -> Iterator[str]:
    autoscaling = target.client("autoscaling")
    groups = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[group]).get("AutoScalingGroups", [])
    if not groups:
        return
    if groups[0].get("NewInstancesProtectedFromScaleIn"):
        autoscaling.update_auto_scaling_group(AutoScalingGroupName=group, NewInstancesProtectedFromScaleIn=False)
        yield f"stopped protecting new instances of {group} from scale-in"
    protected = [i["InstanceId"] for i in groups[0].get("Instances", []) if i.get("ProtectedFromScaleIn")]
    for start in range(0, len(protected), BATCH):
        autoscaling.set_instance_protection(AutoScalingGroupName=group, InstanceIds=protected[start:start + BATCH], ProtectedFromScaleIn=False)
    if protected:
        yield f"cleared scale-in protection on {len(protected)} instance(s) of {group}, so that the group can be deleted"
