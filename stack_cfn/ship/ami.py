"""Which ECS-optimized image a deploy gives the container instances, chosen before anything is sent.

CloudFormation resolves an SSM-typed parameter again on every stack update (AWS CloudFormation user guide,
"Specify existing resources at runtime with CloudFormation-supplied parameter types": SSM parameter types
"are resolved ... every time you create or update the stack"), so a launch template whose image is read through
the public ECS-optimized parameter takes AWS's newest image with any unrelated update, and the Auto Scaling
group's rolling update replaces every instance. An image change must be chosen on purpose instead:

- `ecs_ami` in the stack file: that image (the template's own default; nothing to pass);
- otherwise the stock image the cluster runs now, kept: the root's `EcsStockAmi` as deployed, or, for a stack
  deployed before that parameter existed, the image of the cluster's launch template;
- a first deploy, a stack moving off a custom `ecs_ami`, or `refresh` (an explicit "take AWS's newest"): the
  image the public parameter names today (what `stack-cfn roll` shows as the target).

The choice is passed as the root parameter `EcsStockAmi`; `describe` says what was chosen and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import botocore.exceptions

from stack_cfn.blueprints.cluster_contract import ECS_AMI_SSM, Cluster
from stack_cfn.errors import DeployError
from stack_cfn.model.config import StackConfig
from stack_cfn.ship.aws import AwsTarget

LAUNCH_TEMPLATE = "LaunchTemplate"  # the cluster layer's logical id (blueprints/cluster.py)


@dataclass(frozen=True)
class AmiChoice:
    image: str  # the stock image to pin; "" when the stack file names its own (ecs_ami)
    why: str

    def parameters(self) -> dict[str, str]:
        """The root parameter to pass with the root's change set (deploy, plan and release alike)."""
        return {Cluster.EcsStockAmi.name: self.image} if self.image else {}

    def describe(self) -> str:
        return f"container-instance image: {self.image or '(ecs_ami)'}, {self.why}"


def choose_ecs_ami(target: AwsTarget, cfg: StackConfig, stack: str, refresh: bool = False) -> AmiChoice:
    """The image the root stack `stack` should run (see the module's docstring)."""
    if cfg.ecs_ami:
        return AmiChoice("", f"ecs_ami {cfg.ecs_ami} from the stack file")
    if not refresh:
        kept = running_stock_ami(target, stack)
        if kept:
            return AmiChoice(kept, "kept from the running cluster (a new image only when asked for)")
    return AmiChoice(latest_stock_ami(target), f"the ECS-optimized image {ECS_AMI_SSM} names today")


def running_stock_ami(target: AwsTarget, stack: str) -> str:
    """The stock image the deployed stack runs, or "" when there is none to keep (no stack, or a custom image)."""
    cfn = target.client("cloudformation")
    try:
        stacks = cfn.describe_stacks(StackName=stack)["Stacks"]
    except botocore.exceptions.ClientError as exc:
        if "does not exist" in str(exc):
            return ""
        raise
    params = {p["ParameterKey"]: p.get("ParameterValue", "") for p in (stacks[0].get("Parameters") or [])} if stacks else {}
    if params.get(Cluster.EcsAmi.name):
        return ""  # it ran a custom image: moving off it is a change of image anyway
    if params.get(Cluster.EcsStockAmi.name):
        return params[Cluster.EcsStockAmi.name]
    return _launch_template_image(target, cfn, stack)


def _launch_template_image(target: AwsTarget, cfn: Any, stack: str) -> str:
    """The image of the cluster layer's launch template (a stack deployed before EcsStockAmi), or ""."""
    from stack_cfn.ship.deploy import nested_stacks

    layer = nested_stacks(cfn, stack).get(Cluster.logical_id) if stack else None
    if not layer:
        return ""
    try:
        template_id = cfn.describe_stack_resource(StackName=layer, LogicalResourceId=LAUNCH_TEMPLATE)["StackResourceDetail"]["PhysicalResourceId"]
        versions = target.client("ec2").describe_launch_template_versions(LaunchTemplateId=template_id, Versions=["$Latest"])
    except botocore.exceptions.ClientError:
        return ""
    found = versions.get("LaunchTemplateVersions") or [{}]
    return str(found[0].get("LaunchTemplateData", {}).get("ImageId", ""))


def latest_stock_ami(target: AwsTarget) -> str:
    """What the public ECS-optimized image parameter names today."""
    try:
        return str(target.client("ssm").get_parameter(Name=ECS_AMI_SSM)["Parameter"]["Value"])
    except botocore.exceptions.ClientError as exc:
        raise DeployError(f"the ECS-optimized image parameter {ECS_AMI_SSM} cannot be read in {target.region} "
                          f"({exc.response['Error'].get('Code')}); set ecs_ami in the stack file") from None
