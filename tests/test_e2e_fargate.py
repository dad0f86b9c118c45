"""Fargate beside EC2 on the local AWS: an EC2 service, a Fargate service, a Fargate Spot worker, and a database that
admits only the service that names it, read back through ECS, ELBv2 and EC2."""

from __future__ import annotations

from typing import Any

import pytest

from stack_cfn.blueprints.compiler import compile_stack
from stack_cfn.model.loading import parse_config
from stack_cfn.ship import deploy
from stack_cfn.ship.capabilities import required_capabilities
from tests.conftest import moto_gap, services_by_name

pytestmark = pytest.mark.e2e

STACK = """name: fgt
environment: prod
region: us-east-1
cidr: 10.96.0.0/16
key_name: fgt-key
databases: [{name: main}]
services:
  - {name: web, image: nginx, port: 80}
  - {name: api, image: nginx, port: 8080, launch_type: fargate, cpu: 512, memory: 1024, databases: [main]}
  - {name: spot, image: busybox, kind: worker, launch_type: fargate, cpu: 256, memory: 512,
     capacity: [{provider: FARGATE_SPOT, weight: 1}]}
"""


@pytest.fixture(scope="module")
def stack(local_aws):  # noqa: ANN001, ANN201
    local, target = local_aws
    cfg = parse_config(STACK)
    overrides = local.prepare_for(cfg, target)
    compiled = compile_stack(cfg)
    up = deploy.upload(target, compiled, "e2e-fargate-templates", create_bucket=True)
    cs = deploy.create_change_set(target, "fgt-prod", up.root_url, overrides, required_capabilities(compiled.files))
    assert deploy.execute(target, cs) == "CREATE_COMPLETE"
    return target, deploy.read_outputs(target, "fgt-prod")


def physical(target: Any, nested: str, logical: str) -> str:  # noqa: ANN401
    """A resource's physical id in one of the root's nested stacks."""
    cfn = target.client("cloudformation")
    stack = deploy.nested_stacks(cfn, "fgt-prod")[nested]
    return next(r["PhysicalResourceId"] for r in cfn.describe_stack_resources(StackName=stack)["StackResources"] if r["LogicalResourceId"] == logical)


def test_all_three_services_run_in_one_cluster(stack) -> None:  # noqa: ANN001
    target, out = stack
    assert set(services_by_name(target.client("ecs"), out["Cluster"])) == {"web", "api", "spot"}


def test_the_fargate_service_registers_by_ip_and_the_ec2_one_by_instance(stack) -> None:  # noqa: ANN001
    """awsvpc tasks need target type ip (ECS developer guide, "Use an Application Load Balancer for Amazon ECS")."""
    target, _ = stack
    elbv2 = target.client("elbv2")
    types = {name: elbv2.describe_target_groups(TargetGroupArns=[physical(target, f"{name.capitalize()}Service", "TargetGroup")])["TargetGroups"][0]
             ["TargetType"] for name in ("api", "web")}
    assert types == {"api": "ip", "web": "instance"}


def test_the_service_group_admits_only_its_load_balancer_on_the_container_port(stack) -> None:  # noqa: ANN001
    target, out = stack
    group = target.client("ec2").describe_security_groups(GroupIds=[physical(target, "ApiService", "ServiceSecurityGroup")])["SecurityGroups"][0]
    assert [(p["FromPort"], p["ToPort"], [g["GroupId"] for g in p["UserIdGroupPairs"]]) for p in group["IpPermissions"]] == \
        [(8080, 8080, [out["InternalElb"]])]


def test_the_database_admits_only_the_service_that_names_it(stack) -> None:  # noqa: ANN001
    """The database's group admits the Fargate service's group on its port, and neither the instances (no bridge
    service names it) nor the other services."""
    target, out = stack
    cfn = target.client("cloudformation")
    db_group = deploy.stack_outputs(cfn, deploy.nested_stacks(cfn, "fgt-prod")["MainDatabase"])["SecurityGroup"]
    rules = target.client("ec2").describe_security_groups(GroupIds=[db_group])["SecurityGroups"][0]["IpPermissions"]
    sources = [(p["FromPort"], g["GroupId"]) for p in rules for g in p.get("UserIdGroupPairs", [])]
    assert sources == [(5432, physical(target, "ApiService", "ServiceSecurityGroup"))]
    assert out["EcsClusterSecurityGroupId"] not in str(rules)
    assert not [r for p in rules for r in p.get("IpRanges", [])], "no address range"


@moto_gap("AWS::ECS::Service NetworkConfiguration is dropped by moto's CloudFormation (create_service gets no network configuration)")
def test_the_fargate_service_reads_back_its_network_configuration(stack) -> None:  # noqa: ANN001
    target, out = stack
    api = services_by_name(target.client("ecs"), out["Cluster"])["api"]
    vpc = api.get("networkConfiguration", {}).get("awsvpcConfiguration", {})
    assert vpc.get("securityGroups") == [physical(target, "ApiService", "ServiceSecurityGroup")]
    assert sorted(vpc.get("subnets", [])) == sorted(out["InternalSubnets"].split(","))
    assert vpc.get("assignPublicIp") == "DISABLED"


@moto_gap("AWS::ECS::Service CapacityProviderStrategy and PlatformVersion are dropped by moto's CloudFormation")
def test_the_spot_worker_reads_back_its_fargate_spot_strategy(stack) -> None:  # noqa: ANN001
    target, out = stack
    spot = services_by_name(target.client("ecs"), out["Cluster"])["spot"]
    assert [(c["capacityProvider"], c["weight"]) for c in spot.get("capacityProviderStrategy", [])] == [("FARGATE_SPOT", 1)]
    assert spot.get("platformVersion") == "LATEST"


@moto_gap("AWS::ECS::TaskDefinition RequiresCompatibilities, NetworkMode and Cpu are dropped by moto's CloudFormation")
def test_the_fargate_task_definition_reads_back(stack) -> None:  # noqa: ANN001
    target, out = stack
    ecs = target.client("ecs")
    api = services_by_name(ecs, out["Cluster"])["api"]
    task = ecs.describe_task_definition(taskDefinition=api["taskDefinition"])["taskDefinition"]
    assert task.get("requiresCompatibilities") == ["FARGATE"] and task.get("networkMode") == "awsvpc"
    assert (task.get("cpu"), task.get("memory")) == ("512", "1024")
