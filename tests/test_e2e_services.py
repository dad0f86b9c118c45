"""Services deployed to the local AWS: nested in the root, and standalone from templates/service.json."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from stack_cfn.blueprints.compiler import compile_stack
from stack_cfn.model.loading import load_config
from stack_cfn.ship import deploy
from stack_cfn.ship.capabilities import required_capabilities
from tests.conftest import ROOT, moto_gap, run_aws, services_by_name

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(local_aws):  # noqa: ANN001
    """The example stack.yaml (one service of each kind, both load balancers) under another name."""
    local, target = local_aws
    cfg = load_config(ROOT / "stack.yaml").with_changes(name="svcs", cidr="10.80.0.0/16", key_name="svcs-key")
    overrides = local.prepare_for(cfg, target)
    compiled = compile_stack(cfg)
    up = deploy.upload(target, compiled, "e2e-services-templates", create_bucket=True)
    cs = deploy.create_change_set(target, "svcs-prod", up.root_url, overrides, required_capabilities(compiled.files))
    assert deploy.execute(target, cs) == "CREATE_COMPLETE"
    return cfg, target, deploy.read_outputs(target, "svcs-prod")


def test_ecs_services_and_task_definitions(stack) -> None:  # noqa: ANN001
    cfg, target, out = stack
    ecs = target.client("ecs")
    services = services_by_name(ecs, out["Cluster"])
    assert set(services) == {"nginx", "www", "auth", "jobs"}
    assert services["nginx"]["desiredCount"] == 2 and services["jobs"]["desiredCount"] == 1
    assert services["jobs"].get("loadBalancers", []) == []
    task = ecs.describe_task_definition(taskDefinition=services["www"]["taskDefinition"])["taskDefinition"]
    container = task["containerDefinitions"][0]
    assert container["image"] == "nginx:1.27" and container["name"] == "www"
    assert container["portMappings"][0]["hostPort"] == 0, "ALB: dynamic host port"
    assert container["logConfiguration"]["logDriver"] == "awslogs"
    assert re.fullmatch(r"svcs-prod-WwwService-\w+-LogGroup-\w+", container["logConfiguration"]["options"]["awslogs-group"])
    auth = ecs.describe_task_definition(taskDefinition=services["auth"]["taskDefinition"])["taskDefinition"]["containerDefinitions"][0]
    assert auth["portMappings"][0]["hostPort"] == 5678 and auth["command"] == ["-text=ok"], "classic ELB: static host port"


@moto_gap("AWS::ECS::Service LoadBalancers are not modelled by moto's CloudFormation ('TODO: LoadBalancers')")
def test_services_are_attached_to_their_load_balancers(stack) -> None:  # noqa: ANN001
    _, target, out = stack
    ecs = target.client("ecs")
    services = services_by_name(ecs, out["Cluster"])
    assert services["nginx"].get("loadBalancers"), "nginx is attached to its target group"
    assert "targetGroupArn" in services["nginx"]["loadBalancers"][0]
    assert services["auth"]["loadBalancers"][0]["loadBalancerName"]


def test_load_balancers_target_groups_and_logs(stack) -> None:  # noqa: ANN001
    _, target, out = stack
    elbv2 = target.client("elbv2")
    albs = [lb for lb in elbv2.describe_load_balancers()["LoadBalancers"] if lb["VpcId"] == out["VpcId"]]
    assert sorted(lb["Scheme"] for lb in albs) == ["internal", "internet-facing"]
    for lb in albs:
        assert len(lb["LoadBalancerName"]) <= 32
        tgs = elbv2.describe_target_groups(LoadBalancerArn=lb["LoadBalancerArn"])["TargetGroups"]
        assert len(tgs) == 1 and tgs[0]["HealthCheckPath"] == "/" and tgs[0]["HealthyThresholdCount"] == 2
        listeners = elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
        assert [listener["Port"] for listener in listeners] == [80]
    cfn = target.client("cloudformation")
    auth_stack = deploy.nested_stacks(cfn, "svcs-prod")["AuthService"]
    name = next(r["PhysicalResourceId"] for r in cfn.list_stack_resources(StackName=auth_stack)["StackResourceSummaries"]
                if r["LogicalResourceId"] == "LoadBalancer")
    classic = target.client("elb").describe_load_balancers(LoadBalancerNames=[name])["LoadBalancerDescriptions"]
    assert classic[0]["Scheme"] == "internal"
    assert classic[0]["HealthCheck"]["Target"] == "HTTP:5678/"
    assert classic[0]["ListenerDescriptions"][0]["Listener"]["InstancePort"] == 5678
    # CloudFormation names the groups (<service stack>-LogGroup-<random>): a retained group never blocks a later create.
    groups = {g["logGroupName"]: g for g in target.client("logs").describe_log_groups(logGroupNamePrefix="svcs-prod-")["logGroups"]}
    assert sorted(name.split("-")[2] for name in groups) == ["AuthService", "JobsService", "NginxService", "WwwService"]
    assert all(g.get("retentionInDays") == 30 for g in groups.values())


def records(target, zone_id: str) -> dict[str, dict]:  # noqa: ANN001
    rrs = target.client("route53").list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    return {r["Name"].rstrip("."): r for r in rrs if r["Type"] == "A"}


def test_service_names_in_the_private_zone(stack) -> None:  # noqa: ANN001
    _, target, out = stack
    names = records(target, out["ZoneId"])
    assert {"nginx.stack.local", "www.stack.local", "auth.stack.local"} <= set(names)
    assert "jobs.stack.local" not in names
    assert names["nginx.stack.local"]["AliasTarget"]["DNSName"].rstrip(".").endswith(".elb.amazonaws.com")


def test_standalone_service_from_the_generic_template(stack, local_aws, tmp_path: Path) -> None:  # noqa: ANN001
    local, _ = local_aws
    _, target, out = stack
    result = run_aws(local.endpoint_url, target.region, "cloudformation", "deploy",
                     "--template-file", str(ROOT / "templates" / "service.json"), "--stack-name", "svcs-prod-echo",
                     "--capabilities", "CAPABILITY_IAM",
                     "--parameter-overrides", "StackName=svcs-prod", "Name=echo", "Image=nginx", "Port=80")
    assert result.returncode == 0, result.stderr
    ecs = target.client("ecs")
    service = services_by_name(ecs, out["Cluster"])["echo"]
    assert service["status"] == "ACTIVE" and service["desiredCount"] == 2
    assert "echo.stack.local" in records(target, out["ZoneId"]), "imported the stack's zone and domain"
    albs = [a for a in target.client("elbv2").describe_load_balancers()["LoadBalancers"] if a["VpcId"] == out["VpcId"]]
    assert len(albs) == 3, "the standalone service's ALB sits in the imported VPC"

