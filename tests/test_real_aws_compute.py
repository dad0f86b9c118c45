"""Issue 18, the compute templates: AWS's rules that moto and cfn-lint do not enforce, one test per item.

Each test names the rule and where AWS (or a maintainer's issue) states it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from stack_cfn.blueprints.bastion import build_bastion
from stack_cfn.blueprints.cluster import CAPACITY_PROVIDER_NAME_MAX, CAPACITY_PROVIDER_PREFIX, REFUSED_PROVIDER_PREFIXES, build_cluster
from stack_cfn.blueprints.cluster_contract import Cluster
from stack_cfn.blueprints.network import build_network
from stack_cfn.blueprints.service import build_service
from stack_cfn.errors import ConfigError
from stack_cfn.model import rules as R
from stack_cfn.model.config import ServiceAutoScaling, ServiceConfig, StackConfig
from stack_cfn.ship.ami import choose_ecs_ami


def as_dict(t: Any) -> dict[str, Any]:
    return json.loads(t.to_json())


def stack(**changes: Any) -> StackConfig:
    return StackConfig(name="my-app", environment="prod", key_name="k", **changes)


@pytest.mark.parametrize("name", ["ecs-demo", "aws-shop", "fargate-jobs"])
def test_item4_capacity_provider_names_never_start_with_what_ecs_refuses(name: str) -> None:
    """AWS::ECS::CapacityProvider, Name: "If a name is specified, it cannot start with aws, ecs, or fargate. If no name
    is specified, a default name in the CFNStackName-CFNResourceName-RandomString format is used" (and aws-cdk#29151):
    left unnamed in a stack called ecs-demo-prod, ECS refuses it. Named, it is cp-<the group's name>, at most 255
    characters (CreateCapacityProvider: name up to 255 letters, digits, - and _)."""
    provider = as_dict(build_cluster(StackConfig(name=name, environment="prod")))["Resources"]["CapacityProvider"]["Properties"]
    assert provider["Name"] == {"Fn::Join": ["", [CAPACITY_PROVIDER_PREFIX, {"Ref": "AutoScalingGroup"}]]}
    assert not CAPACITY_PROVIDER_PREFIX.startswith(REFUSED_PROVIDER_PREFIXES)
    # The group's generated name: <nested stack name (<= 128, CloudFormation quotas)>-AutoScalingGroup-<13 random>.
    longest_group = R.STACK_NAME.max_length + len("-AutoScalingGroup-") + 13
    assert len(CAPACITY_PROVIDER_PREFIX) + longest_group <= CAPACITY_PROVIDER_NAME_MAX
    ordinary = as_dict(build_cluster(stack()))["Resources"]["CapacityProvider"]["Properties"]
    assert "Name" not in ordinary, "an existing provider keeps its name: renaming replaces it, and ECS lets one group have one provider"


@pytest.mark.parametrize("mode", ["simple", "managed"])
def test_item10_deleting_the_stack_cannot_wait_for_protected_instances(mode: str) -> None:
    """containers-roadmap#2862: deleting a capacity provider with managed termination protection leaves
    ProtectedFromScaleIn on the instances, so the Auto Scaling group cannot be deleted and the stack delete hangs
    (aws-cdk#18179, #14732, whose workaround is enableManagedTerminationProtection: false). CloudFormation deletes the
    association, then the provider (it references the group), then the group: no ordering avoids it while
    protection is on. So: no protection anywhere; managed draining (ECS developer guide, "Safely stop Amazon ECS
    workloads running on EC2 instances") moves tasks off an instance before the group terminates it."""
    resources = as_dict(build_cluster(stack(ecs_scaling=mode)))["Resources"]
    provider = resources["CapacityProvider"]["Properties"]["AutoScalingGroupProvider"]
    assert provider["ManagedTerminationProtection"] == "DISABLED" and provider["ManagedDraining"] == "ENABLED"
    assert not resources["AutoScalingGroup"]["Properties"].get("NewInstancesProtectedFromScaleIn")
    association = resources["ClusterCapacityProviders"]["Properties"]
    assert association["Cluster"] == {"Ref": "Cluster"} and association["CapacityProviders"] == [{"Ref": "CapacityProvider"}]
    assert provider["AutoScalingGroupArn"] == {"Ref": "AutoScalingGroup"}, "deleted before the group it names"


def test_item11_a_rolling_update_has_room_to_replace_an_instance() -> None:
    """AWS::AutoScaling::AutoScalingGroup UpdatePolicy, AutoScalingRollingUpdate: MinInstancesInService "must be less
    than the Auto Scaling group's MaxSize"; ours is ecs_min_size, so ecs_min_size == ecs_max_size failed every launch
    template change. Refused in one line (a derived smaller minimum would silently run the fleet short)."""
    with pytest.raises(ConfigError, match=r"^ecs_max_size: 3 leaves no room above ecs_min_size 3 .*; set ecs_max_size to at least 4$"):
        stack(ecs_min_size=3, ecs_max_size=3)
    rolling = as_dict(build_cluster(stack(ecs_max_size=4)))["Resources"]["AutoScalingGroup"]["UpdatePolicy"]["AutoScalingRollingUpdate"]
    assert rolling["MinInstancesInService"] == {"Ref": Cluster.EcsMinSize.name}


def services(*shapes: ServiceConfig) -> list[dict[str, Any]]:
    return [as_dict(build_service(s))["Resources"]["Service"]["Properties"] for s in shapes]


def test_item13_services_can_be_replaced_and_run_on_the_capacity_provider() -> None:
    """AWS::ECS::Service, ServiceName: "If you specify a name, you can't perform updates that require replacement of this
    resource" (a classic ELB <-> ALB change replaces it: Role). No ServiceName: CloudFormation names it, and a
    replacement works. Every service names the cluster's capacity provider in its strategy, in both scaling modes:
    a cluster's default capacity provider strategy applies only to services created without a launch type or
    strategy (CreateService, capacityProviderStrategy), so services created while ecs_scaling was simple stayed on
    launch type EC2, outside managed scaling, after the switch. Naming the provider, they have nothing to change."""
    alb = ServiceConfig(name="api", image="nginx", port=80)
    classic = ServiceConfig(name="api", image="nginx", port=80, load_balancer="classic")
    worker = ServiceConfig(name="jobs", image="busybox", kind="worker")
    for props in services(alb, classic, worker):
        assert "ServiceName" not in props
        assert props["CapacityProviderStrategy"] == [{"CapacityProvider": {"Fn::If": ["ImportCapacityProvider", {"Fn::ImportValue": {
            "Fn::Join": ["-", [{"Ref": "StackName"}, "CapacityProvider"]]}}, {"Ref": "CapacityProvider"}]}, "Weight": 1}]
        assert "LaunchType" not in props
    outputs = as_dict(build_cluster(stack()))["Outputs"]
    assert outputs["CapacityProvider"]["Value"] == {"Ref": "CapacityProvider"}


def test_item15_two_environments_of_one_name_do_not_share_a_cluster_or_alarm_names() -> None:
    """ECS cluster names are unique per account and Region (CreateCluster returns the existing cluster of that name),
    as are CloudWatch alarm names (PutMetricAlarm overwrites one of the same name): a cluster named after `name` alone
    was shared by prod and staging. The default is now <name>-<environment>; the scaling alarms derive from it."""
    prod, staging = stack(), StackConfig(name="my-app", environment="staging", key_name="k")
    assert prod.cluster_name == "my-app-prod" and staging.cluster_name == "my-app-staging"
    t = as_dict(build_cluster(prod))
    assert t["Resources"]["Cluster"]["Properties"]["ClusterName"]["Fn::If"][2] == {"Fn::Join": ["-", [{"Ref": "Name"}, {"Ref": "Environment"}]]}
    names = [r["Properties"]["AlarmName"] for r in t["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm" and "AlarmName" in r["Properties"]]
    assert names and all(n["Fn::Sub"].startswith("${Cluster}-") for n in names), "alarm names follow the cluster's"


def test_item16_scaling_owns_the_counts() -> None:
    """AWS::ECS::Service, DesiredCount: when absent, create starts 1 task and an update keeps the count the service has
    (aws-cdk#13130, CDK's removeDefaultDesiredCount); present, every update resets what auto scaling chose.
    RegisterScalableTarget then raises the count into [MinCapacity, MaxCapacity] ("it changes the resource's current
    capacity to a value that is inside of this range"). Likewise an Auto Scaling group's DesiredCapacity "defaults
    to the minimum size" and, present, is sent with every update of the group."""
    scaled, fixed = services(ServiceConfig(name="api", image="nginx", port=80, autoscaling=ServiceAutoScaling(min_count=2)),
                             ServiceConfig(name="api", image="nginx", port=80))
    assert "DesiredCount" not in scaled and fixed["DesiredCount"] == {"Ref": "DesiredCount"}
    assert "DesiredCount" not in as_dict(build_service(ServiceConfig(name="a", image="nginx", port=80, autoscaling=ServiceAutoScaling())))["Parameters"]
    for mode in ("simple", "managed"):
        asg = as_dict(build_cluster(stack(ecs_scaling=mode)))["Resources"]["AutoScalingGroup"]["Properties"]
        assert "DesiredCapacity" not in asg and asg["MinSize"] == {"Ref": "EcsMinSize"}
    with pytest.raises(ConfigError, match=r"^ecs_desired_capacity: 5 would reset the group to 5 instances on every deploy"):
        stack(ecs_desired_capacity=5)


def test_item17_the_image_changes_only_on_purpose() -> None:
    """AWS CloudFormation user guide, SSM parameter types: resolved again "every time you create or update the
    stack", so an image read through the public ECS-optimized parameter rolls the fleet with any unrelated update.
    The launch template takes, in order: ecs_ami, the stock image deploy pinned (EcsStockAmi), and only when neither
    is given (standalone use) the SSM parameter."""
    data = as_dict(build_cluster(stack()))["Resources"]["LaunchTemplate"]["Properties"]["LaunchTemplateData"]
    assert data["ImageId"] == {"Fn::If": ["HasEcsAmi", {"Ref": "EcsAmi"},
                                          {"Fn::If": ["HasEcsStockAmi", {"Ref": "EcsStockAmi"}, {"Ref": "EcsAmiSsmParameter"}]}]}


class FakeTarget:
    """Just the calls ship/ami.py makes, answered from dictionaries."""

    region = "us-east-1"

    def __init__(self, root_params: dict[str, str] | None, template_image: str = "", today: str = "ami-0000000000000000d") -> None:
        self.root_params, self.template_image, self.today = root_params, template_image, today

    def client(self, service: str) -> Any:
        return self

    def describe_stacks(self, StackName: str) -> dict[str, Any]:  # noqa: N803
        if self.root_params is None:
            import botocore.exceptions
            raise botocore.exceptions.ClientError({"Error": {"Code": "ValidationError", "Message": f"Stack {StackName} does not exist"}}, "DescribeStacks")
        return {"Stacks": [{"Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in self.root_params.items()]}]}

    def describe_stack_resources(self, StackName: str) -> dict[str, Any]:  # noqa: N803
        return {"StackResources": [{"LogicalResourceId": Cluster.logical_id, "ResourceType": "AWS::CloudFormation::Stack", "PhysicalResourceId": "c"}]}

    def describe_stack_resource(self, StackName: str, LogicalResourceId: str) -> dict[str, Any]:  # noqa: N803
        return {"StackResourceDetail": {"PhysicalResourceId": "lt-1"}}

    def describe_launch_template_versions(self, **_: Any) -> dict[str, Any]:
        return {"LaunchTemplateVersions": [{"LaunchTemplateData": {"ImageId": self.template_image}}]}

    def get_parameter(self, Name: str) -> dict[str, Any]:  # noqa: N803
        return {"Parameter": {"Value": self.today}}


def test_item17_deploy_keeps_the_running_image() -> None:
    """The choice ship/ami.py makes before a root change set: kept unless the stack file or the user changes it."""
    pinned = "ami-0000000000000000a"
    first = choose_ecs_ami(FakeTarget(None), stack(), "my-app-prod")
    assert first.parameters() == {Cluster.EcsStockAmi.name: "ami-0000000000000000d"}, "a first deploy: today's image"
    kept = choose_ecs_ami(FakeTarget({Cluster.EcsAmi.name: "", Cluster.EcsStockAmi.name: pinned}), stack(), "my-app-prod")
    assert kept.parameters() == {Cluster.EcsStockAmi.name: pinned} and "kept" in kept.describe()
    older = choose_ecs_ami(FakeTarget({Cluster.EcsAmi.name: ""}, template_image="ami-0000000000000000b"), stack(), "my-app-prod")
    assert older.image == "ami-0000000000000000b", "a stack from before EcsStockAmi keeps its launch template's image"
    off_custom = choose_ecs_ami(FakeTarget({Cluster.EcsAmi.name: "ami-0000000000000000c"}), stack(), "my-app-prod")
    assert off_custom.image == "ami-0000000000000000d", "leaving a custom image is a change of image: today's stock one"
    refresh = choose_ecs_ami(FakeTarget({Cluster.EcsStockAmi.name: pinned}), stack(), "my-app-prod", refresh=True)
    assert refresh.image == "ami-0000000000000000d"
    custom = choose_ecs_ami(FakeTarget(None), stack(ecs_ami="ami-0123456789abcdef0"), "my-app-prod")
    assert custom.parameters() == {}, "ecs_ami is the template's own default"


def test_item20_no_ebs_optimized_flag_on_nat_and_bastion_instances() -> None:
    """Amazon EC2 user guide, "Amazon EBS-optimized instance types": current-generation types are EBS-optimized by
    default, and a type without EBS optimization refuses a launch asking for it; the settings admit such types
    (t2.micro is an EC2 instance type the model accepts). Neither botocore nor cfn-lint ships per-type EBS data,
    so the flag is left to EC2's default."""
    cfg = stack(use_nat_instances=True, nat_instance_type="t2.micro", bastion_instance_type="t2.micro")
    network, bastion = as_dict(build_network(cfg))["Resources"], as_dict(build_bastion(cfg))["Resources"]
    instances = [r for r in (*network.values(), *bastion.values()) if r["Type"] == "AWS::EC2::Instance"]
    assert len(instances) == 4 and not any("EbsOptimized" in r["Properties"] for r in instances)


def test_item14_nat_gateways_and_instances_never_share_an_elastic_ip() -> None:
    """EC2 refuses an address that is still associated (CreateNatGateway / AssociateAddress: "Elastic IP address ... is
    already associated"), and CloudFormation deletes removed resources only in its cleanup phase, after creating the
    new ones: a shared EIP made every gateway <-> instance switch fail. Each kind has its own EIP now; the gateways
    keep NatEip<n> (the default's address is kept); a switch changes the egress address."""
    resources = as_dict(build_network(stack(use_nat_instances=True, use_eip_with_nat_instances=True)))["Resources"]
    for i in (1, 2, 3):
        assert resources[f"NatEip{i}"]["Condition"] == ("UseNatGateways" if i == 1 else "NatGatewayPerZone")  # nat_gateways: one keeps NatEip1 alone
        assert resources[f"NatInstanceEip{i}"]["Condition"] == "UseNatInstanceEips"
        assert resources[f"NatGateway{i}"]["Properties"]["AllocationId"] == {"Fn::GetAtt": [f"NatEip{i}", "AllocationId"]}
        assert resources[f"NatEipAssociation{i}"]["Properties"]["AllocationId"] == {"Fn::GetAtt": [f"NatInstanceEip{i}", "AllocationId"]}
