"""Cheaper capacity on the local AWS (issue 20, item 7): Graviton types in a mixed-instances policy with Spot,
deployed through `stack-cfn deploy` and read back through the Auto Scaling, EC2 and ECS APIs.

What moto does not carry from the template is a strict expected failure naming the gap; the template itself
says it (tests/test_capacity.py).
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
import yaml

from stack_cfn.blueprints.cluster_contract import ECS_ARM64_AMI_SSM
from stack_cfn.blueprints.userdata import SPOT_DRAINING
from tests.conftest import AWS_ENV, all_exports, moto_gap, run_cli

pytestmark = pytest.mark.e2e
TYPES = ["m7g.large", "m6g.large", "c7g.xlarge"]


@pytest.fixture(scope="module")
def deployed(local_aws, tmp_path_factory):  # noqa: ANN001, ANN201
    local, target = local_aws
    config = tmp_path_factory.mktemp("capacity") / "stack.yaml"
    config.write_text(yaml.safe_dump({
        "name": "cap", "environment": "test", "region": "us-east-1", "cidr": "10.89.0.0/16", "bastion": False,
        "ecs_architecture": "arm64", "ecs_instance_types": TYPES, "ecs_spot": {"on_demand_base": 1, "on_demand_percent": 25},
        "ecs_scaling": "managed",
        "services": [{"name": "jobs", "kind": "worker", "image": "busybox", "command": ["sleep", "3600"], "log_retention_on_delete": False}]}))
    result = run_cli("deploy", "-c", str(config), "--endpoint-url", local.endpoint_url, "--region", "us-east-1", "--bucket", "capacity-templates",
                     "--create-bucket", env=AWS_ENV)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    exports = all_exports(target.client("cloudformation"))
    name = exports["cap-test-AutoscalingGroup"]
    group = target.client("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0]
    return target, exports, group, result


def test_the_group_offers_every_type_in_order(deployed: Any) -> None:
    _, _, group, _ = deployed
    policy = group["MixedInstancesPolicy"]
    assert [o["InstanceType"] for o in policy["LaunchTemplate"]["Overrides"]] == TYPES
    assert "LaunchTemplate" not in group, "a mixed group names its launch template inside the policy only"


def test_the_distribution_is_one_on_demand_then_a_quarter(deployed: Any) -> None:
    _, _, group, _ = deployed
    distribution = group["MixedInstancesPolicy"]["InstancesDistribution"]
    assert (distribution["OnDemandBaseCapacity"], distribution["OnDemandPercentageAboveBaseCapacity"]) == (1, 25)
    assert distribution["SpotAllocationStrategy"] == "price-capacity-optimized"
    assert distribution["OnDemandAllocationStrategy"] == "prioritized"


@moto_gap("AWS::AutoScaling::AutoScalingGroup CapacityRebalance is not read from CloudFormation (create_from_cloudformation_json "
          "never passes it), so the group reads back CapacityRebalance false")
def test_capacity_rebalancing_is_on(deployed: Any) -> None:
    _, _, group, _ = deployed
    assert group["CapacityRebalance"] is True


def test_the_instances_run_the_arm64_ecs_optimized_image(deployed: Any) -> None:
    """deploy chose today's image of the arm64 parameter (ship/ami.py) and the launch template runs it."""
    target, _, group, result = deployed
    ec2 = target.client("ec2")
    arm64 = target.client("ssm").get_parameter(Name=ECS_ARM64_AMI_SSM)["Parameter"]["Value"]
    assert arm64 in result.stdout + result.stderr, "deploy says which image it chose"
    spec = group["MixedInstancesPolicy"]["LaunchTemplate"]["LaunchTemplateSpecification"]
    data = ec2.describe_launch_template_versions(LaunchTemplateId=spec["LaunchTemplateId"], Versions=["$Latest"])["LaunchTemplateVersions"][0]
    assert data["LaunchTemplateData"]["ImageId"] == arm64
    assert ec2.describe_images(ImageIds=[arm64])["Images"][0]["Architecture"] == "arm64"
    launched = {i["InstanceType"] for i in group["Instances"]}
    assert launched and launched <= set(TYPES)
    user_data = base64.b64decode(data["LaunchTemplateData"]["UserData"]).decode()
    assert f"\n      {SPOT_DRAINING}\n" in user_data, "Spot instances drain on an interruption notice"


def test_the_capacity_provider_drains_what_the_group_terminates(deployed: Any) -> None:
    target, exports, _, _ = deployed
    provider = target.client("ecs").describe_capacity_providers(capacityProviders=[exports["cap-test-CapacityProvider"]])["capacityProviders"][0]
    assert provider["autoScalingGroupProvider"]["managedTerminationProtection"] == "DISABLED"
    assert provider["autoScalingGroupProvider"].get("managedDraining") == "ENABLED"
