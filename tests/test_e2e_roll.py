"""Draining in every scaling mode, and `stack-cfn roll` on the local AWS.

moto has no CloudFormation support for AWS::ECS::CapacityProvider: the stack deploys (moto skips the
type) and the provider's presence through the ECS API is a strict expected failure naming that gap.
moto runs no ECS agents, so every instance has 0 tasks.
"""

from __future__ import annotations

import json

import pytest
import yaml

from stack_cfn.ship.roll import Instance, plan_roll
from tests.conftest import local_cli, moto_gap


def instances(*images: str) -> list[Instance]:
    return [Instance(f"i-{n}", f"us-east-1{'abc'[n % 3]}", image, str(1 + n // 2), f"2026-01-0{n + 1}", n) for n, image in enumerate(images)]


def test_roll_keeps_the_minimum_in_service_oldest_first() -> None:
    plan = plan_roll(instances("ami-old", "ami-old", "ami-new", "ami-old"), "ami-new", 3, "asg")
    assert [b.replace for b in plan.batches] == [("i-0",), ("i-1",), ("i-3",)], "oldest launch template first, the new one stays"
    assert all(b.launch_first == 0 and b.in_service == 3 for b in plan.batches), "4 instances, min 3: no launch needed first"
    tight = plan_roll(instances("ami-old", "ami-old", "ami-old"), "ami-new", 3, "asg")
    assert all(b.launch_first == 1 and b.in_service == 3 for b in tight.batches), "at the minimum: launch before each termination"
    assert plan_roll(instances("ami-new"), "ami-new", 1, "asg").batches == ()


@pytest.fixture(scope="module")
def deployed(local_aws, tmp_path_factory):  # noqa: ANN001, ANN201
    local, target = local_aws
    config = tmp_path_factory.mktemp("roll") / "stack.yaml"
    config.write_text(yaml.safe_dump({"name": "roll", "environment": "test", "region": "us-east-1", "cidr": "10.94.0.0/16", "bastion": False,
                                      "ecs_min_size": 3, "ecs_ami": "ami-0123456789abcdef0"}))
    result = cli(local, "deploy", "-c", str(config), "--bucket", "roll-templates", "--create-bucket")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return local, target, config


def cli(local, *args: str):  # noqa: ANN001, ANN201
    return local_cli(local, *args)


@pytest.mark.e2e
def test_roll_lays_out_the_batches_of_the_running_cluster(deployed) -> None:  # noqa: ANN001
    local, target, config = deployed
    result = cli(local, "roll", "-c", str(config), "--ami", "ami-0fedcba9876543210", "--json")
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    running = [i["InstanceId"] for r in target.client("ec2").describe_instances(
        Filters=[{"Name": "tag:aws:autoscaling:groupName", "Values": [plan["group"]]}])["Reservations"] for i in r["Instances"]]
    assert sorted(i["id"] for i in plan["instances"]) == sorted(running) and len(running) == 3
    assert [len(b["replace"]) for b in plan["batches"]] == [1, 1, 1] and plan["min_in_service"] == 3
    assert all(b["in_service"] >= 3 and b["launch_first"] == 1 for b in plan["batches"]), "the group starts at its minimum (issue 18)"
    text = cli(local, "roll", "-c", str(config), "--ami", "ami-0fedcba9876543210")
    assert "batch 3: launch 1 new instance(s), then drain and terminate" in text.stdout and "ecs_min_size 3 is kept in service" in text.stdout


@pytest.mark.e2e
def test_roll_to_the_running_image_replaces_nothing(deployed) -> None:  # noqa: ANN001
    local, target, config = deployed
    image = {i["ImageId"] for r in target.client("ec2").describe_instances()["Reservations"] for i in r["Instances"]
             if any(t["Key"] == "aws:autoscaling:groupName" and t["Value"].startswith("roll-test") for t in i.get("Tags", []))}
    assert len(image) == 1
    result = cli(local, "roll", "-c", str(config))  # ecs_ami of the description: the running one
    assert result.returncode == 0 and "nothing to replace" in result.stdout, result.stdout + result.stderr


@pytest.mark.e2e
def test_roll_bad_input_is_one_line(deployed, tmp_path) -> None:  # noqa: ANN001
    local, _, config = deployed
    bad = cli(local, "roll", "-c", str(config), "--ami", "ubuntu")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "--ami" in bad.stderr and "ami-0123456789abcdef0" in bad.stderr
    other = tmp_path / "stack.yaml"
    other.write_text("name: nosuch\nenvironment: test\nregion: us-east-1\n")
    missing = cli(local, "roll", "-c", str(other))
    assert missing.returncode == 1 and missing.stderr.strip() == "error: stack nosuch-test does not exist; deploy it first (stack-cfn deploy)"


@pytest.mark.e2e
@moto_gap("no CloudFormation support for AWS::ECS::ClusterCapacityProviderAssociations: the cluster lists no capacity provider")
def test_the_draining_capacity_provider_exists_in_ecs(deployed) -> None:  # noqa: ANN001
    _, target, _ = deployed
    ecs = target.client("ecs")
    names = ecs.describe_clusters(clusters=["roll-test"])["clusters"][0].get("capacityProviders", [])
    assert names, "the cluster has the draining capacity provider"
    providers = ecs.describe_capacity_providers(capacityProviders=names)["capacityProviders"]
    assert [p for p in providers if p["autoScalingGroupProvider"]["managedDraining"] == "ENABLED"]


def test_roll_never_cuts_instance_or_ami_ids() -> None:
    """issue 19: a table fitted to 80 columns cut instance and AMI ids; the text keeps every id whole at any width."""
    from stack_cfn.ship.roll import plan_text

    long_ids = [Instance(f"i-0123456789abcdef{n}", "us-east-1a", "ami-0123456789abcdef0", "12", "2026-01-0{n}", 3) for n in range(3)]
    text = plan_text(plan_roll(long_ids, "ami-0fedcba9876543210", 3, "my-very-long-stack-name-prod-AutoScalingGroup-1A2B3C4D5E6F"))
    for i in long_ids:
        assert f"{i.id}  us-east-1a  ami-0123456789abcdef0" in text
    assert "ami-0fedcba9876543210" in text.splitlines()[0] and "batch 3: launch 1 new instance(s)" in text
