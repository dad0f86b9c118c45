"""Release strategies on the local AWS: a blue/green service (own ALB) and a canary one (shared ALB) deploy with their
traffic-shifting resources, and a release runs through the strategy path (`release --strategy`), as parameters only.

moto keeps the CloudFormation side (nested stacks, parameters, target groups, listener rules) but not the ECS side of
strategies: what ECS itself would hold or do is asserted under strict expected failures naming the gap. As in
test_e2e_release.py, services say log_retention_on_delete: false (moto recreates a nested stack on update).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from stack_cfn.ship.local import local_ubuntu_ami
from tests.conftest import local_cli, moto_gap, services_by_name

pytestmark = pytest.mark.e2e
STACK = "bg-test"


def write(path: Path, target: Any) -> Path:
    doc = {"name": "bg", "environment": "test", "region": "us-east-1", "cidr": "10.96.0.0/16", "bastion_ami": local_ubuntu_ami(target),
           "services": [{"name": "api", "image": "nginx", "port": 80, "version": "1.0.0", "log_retention_on_delete": False,
                         "deployment": {"strategy": "blue_green", "bake_minutes": 5}},
                        {"name": "www", "image": "nginx", "port": 80, "version": "1.0.0", "log_retention_on_delete": False, "load_balancer": "shared",
                         "deployment": {"strategy": "canary", "canary_percent": 10, "step_minutes": 2}}]}
    path.write_text(yaml.safe_dump(doc))
    return path


def cli_at(local: Any, *args: str) -> Any:
    return local_cli(local, *args, bucket="bg-templates")


@pytest.fixture(scope="module")
def deployed(local_aws: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any, Path]:
    local, target = local_aws
    config = write(tmp_path_factory.mktemp("bg") / "stack.yaml", target)
    first = cli_at(local, "deploy", "-c", str(config), "--create-bucket")
    assert first.returncode == 0, first.stdout + first.stderr
    return local, target, config


def nested(target: Any, logical: str) -> dict[str, Any]:
    """The service's nested stack: its parameters and its resources by logical id."""
    cfn = target.client("cloudformation")
    physical = cfn.describe_stack_resource(StackName=STACK, LogicalResourceId=logical)["StackResourceDetail"]["PhysicalResourceId"]
    stack = cfn.describe_stacks(StackName=physical)["Stacks"][0]
    resources = {r["LogicalResourceId"]: r for r in cfn.list_stack_resources(StackName=physical)["StackResourceSummaries"]}
    return {"parameters": {p["ParameterKey"]: p["ParameterValue"] for p in stack.get("Parameters", [])}, "resources": resources}


def test_traffic_shifting_services_deploy_with_their_second_target_group_rules_and_role(deployed: Any) -> None:
    _, target, _ = deployed
    for logical, production, strategy in (("ApiService", "ProductionListenerRule", "BLUE_GREEN"), ("WwwService", "ListenerRule", "CANARY")):
        stack = nested(target, logical)
        assert {"AlternateTargetGroup", production, "TestListenerRule", "DeploymentRole"} <= set(stack["resources"]), logical
        assert stack["parameters"]["DeploymentStrategy"] == strategy
        assert "CircuitBreaker" not in stack["parameters"], "the circuit breaker is rolling only"
    elbv2 = target.client("elbv2")
    rule_arn = nested(target, "ApiService")["resources"]["ProductionListenerRule"]["PhysicalResourceId"]
    (rule,) = elbv2.describe_rules(RuleArns=[rule_arn])["Rules"]
    assert rule["Actions"][0]["Type"] == "forward"


@moto_gap("DescribeServices returns no deploymentConfiguration: ECS deployment strategies (Strategy BLUE_GREEN, CANARY, BakeTimeInMinutes) "
          "are not kept")
def test_ecs_holds_the_strategy(deployed: Any) -> None:
    _, target, _ = deployed
    service = services_by_name(target.client("ecs"), STACK)["api"]
    assert service.get("deploymentConfiguration", {}).get("strategy") == "BLUE_GREEN"
    assert service["loadBalancers"][0]["advancedConfiguration"]["alternateTargetGroupArn"]


def test_a_release_runs_through_the_strategy_path(deployed: Any) -> None:
    """`release api=1.1.0 --strategy linear`: the change set touches only api's nested stack, whose strategy parameter is LINEAR for
    this release; the next deploy puts the stack file's blue_green back."""
    local, target, config = deployed
    result = cli_at(local, "release", "api=1.1.0", "--strategy", "linear", "-c", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    assert nested(target, "ApiService")["parameters"]["DeploymentStrategy"] == "LINEAR"
    assert nested(target, "WwwService")["parameters"]["DeploymentStrategy"] == "CANARY"
    again = cli_at(local, "deploy", "-c", str(config))
    assert again.returncode == 0, again.stdout + again.stderr
    assert nested(target, "ApiService")["parameters"]["DeploymentStrategy"] == "BLUE_GREEN"


def test_a_strategy_a_release_cannot_switch_to_is_one_line(deployed: Any) -> None:
    local, _, config = deployed
    result = cli_at(local, "release", "api=1.1.1", "--strategy", "rolling", "-c", str(config))
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 1 and len(errors) == 1 and errors[0].startswith("error: --strategy: api deploys blue_green"), result.stderr


@moto_gap("ListServiceDeployments and StopServiceDeployment are not implemented, so an abort cannot ask ECS what is in flight")
def test_abort_with_nothing_in_flight_says_so(deployed: Any) -> None:
    local, _, config = deployed
    result = cli_at(local, "release", "--abort", "-c", str(config))
    assert result.returncode == 0 and "nothing was in flight" in result.stdout + result.stderr, result.stdout + result.stderr
