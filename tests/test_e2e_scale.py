"""300 services through `stack-cfn deploy` on the local AWS: the root and a service group, every service read back through ECS.

moto does not enforce the 2,500-resources-per-operation quota, so the compiled plan is checked against it
(tests/test_placement.py counts every operation the same way over 1,000 services).
"""

from __future__ import annotations

import pytest
import yaml

from stack_cfn.blueprints.compiler import compile_stack
from stack_cfn.model import quotas
from stack_cfn.model.loading import load_config
from stack_cfn.ship.placement_file import read_placement
from tests.conftest import AWS_ENV, all_stacks, moto_gap, run_cli, services_by_name
from tests.test_placement import operation_sizes

pytestmark = pytest.mark.e2e
COUNT = 300


@pytest.fixture(scope="module")
def deployed(local_aws, tmp_path_factory):  # noqa: ANN001, ANN201
    local, target = local_aws
    config = tmp_path_factory.mktemp("scale") / "stack.yaml"
    services = [{"name": f"s{i:03d}", "image": "nginx", "port": 80, "log_retention_on_delete": False} for i in range(COUNT)]
    config.write_text(yaml.safe_dump({"name": "scale", "environment": "test", "region": "us-east-1", "cidr": "10.97.0.0/16",
                                      "bastion": False, "services": services}))
    result = cli(local, "deploy", "-c", str(config), "--create-bucket")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return local, target, config, result


def cli(local, *args: str):  # noqa: ANN001, ANN201
    bucket = ("--bucket", "scale-templates") if args[0] in ("deploy", "plan") else ()
    return run_cli(*args, "--endpoint-url", local.endpoint_url, "--region", "us-east-1", *bucket, env=AWS_ENV)


def test_every_service_runs_in_ecs(deployed) -> None:  # noqa: ANN001
    _, target, _, _ = deployed
    ecs = target.client("ecs")
    by_name = services_by_name(ecs, "scale-test")
    assert sorted(by_name) == [f"s{i:03d}" for i in range(COUNT)]
    assert all(s["status"] == "ACTIVE" and s["desiredCount"] == 2 for s in by_name.values())


def test_services_past_one_operation_live_in_a_service_group(deployed) -> None:  # noqa: ANN001
    _, target, config, _ = deployed
    cfn = target.client("cloudformation")
    placement = read_placement(config).groups
    in_group = sorted(name for name, group in placement.items() if group == 1)
    assert in_group and set(placement.values()) == {0, 1}
    resources = [r for page in cfn.get_paginator("list_stack_resources").paginate(StackName="scale-test-services-1")
                 for r in page["StackResourceSummaries"]]
    assert sorted(r["LogicalResourceId"] for r in resources) == sorted(f"S{n[1:]}Service" for n in in_group)
    params = cfn.describe_stacks(StackName="scale-test-services-1")["Stacks"][0]["Parameters"]
    assert {p["ParameterKey"]: p["ParameterValue"] for p in params if p["ParameterValue"]} == {"RootStackName": "scale-test"}, \
        "its pins (issue 21) empty: the services import"


def test_the_compiled_plan_keeps_each_operation_inside_the_quota(deployed) -> None:  # noqa: ANN001
    _, _, config, _ = deployed
    compiled = compile_stack(load_config(config), recorded=read_placement(config))
    sizes = operation_sizes(compiled)
    assert len(sizes) == 2 and max(sizes.values()) <= quotas.RESOURCES_PER_OPERATION.limit
    assert sum(sizes.values()) > quotas.RESOURCES_PER_OPERATION.limit, "one root could not have held them"


def test_outputs_plan_and_destroy_cover_the_groups(deployed) -> None:  # noqa: ANN001
    local, target, config, _ = deployed
    outputs = cli(local, "outputs", "-c", str(config))
    assert outputs.returncode == 0 and "service groups (importing scale-test's exports): scale-test-services-1" in outputs.stdout
    plan = cli(local, "plan", "-c", str(config))
    assert plan.returncode == 0, plan.stderr
    assert "no changes: stack scale-test is up to date" in plan.stdout and "no changes: stack scale-test-services-1 is up to date" in plan.stdout
    gone = cli(local, "destroy", "-c", str(config), "--yes")
    assert gone.returncode == 0, gone.stderr[-2000:]
    assert gone.stdout.index("scale-test-services-1: DELETE_COMPLETE") < gone.stdout.index("stack scale-test: DELETE_COMPLETE"), "groups first"
    names = [s["StackName"] for s in all_stacks(target.client("cloudformation"))]
    assert not [n for n in names if n.startswith("scale-test")]


@pytest.fixture(scope="module")
def shrunk(local_aws, tmp_path_factory):  # noqa: ANN001, ANN201
    """Two workers in two stacks (service_group_size 1), then the second removed from the description."""
    local, target = local_aws
    config = tmp_path_factory.mktemp("shrink") / "stack.yaml"
    doc = {"name": "shrink", "environment": "test", "region": "us-east-1", "cidr": "10.98.0.0/16", "bastion": False, "service_group_size": 1,
           "services": [{"name": n, "kind": "worker", "image": "busybox", "log_retention_on_delete": False} for n in ("a", "b")]}
    config.write_text(yaml.safe_dump(doc))
    assert cli(local, "deploy", "-c", str(config), "--create-bucket").returncode == 0
    doc["services"] = doc["services"][:1]
    config.write_text(yaml.safe_dump(doc))
    plan = cli(local, "plan", "-c", str(config))
    again = cli(local, "deploy", "-c", str(config))
    return target, plan, again


def test_a_group_left_empty_is_deleted_by_the_next_deploy(shrunk) -> None:  # noqa: ANN001
    target, plan, again = shrunk
    assert "!! shrink-test-services-1 would be DELETED with its services" in plan.stderr, plan.stderr
    assert again.returncode == 0, again.stderr[-2000:]
    names = [s["StackName"] for s in all_stacks(target.client("cloudformation"))]
    assert "shrink-test" in names and "shrink-test-services-1" not in names


@moto_gap("deleting a stack leaves its AWS::ECS::Service resources in ECS (moto's ECS Service has no delete_from_cloudformation_json)")
def test_the_services_of_a_deleted_group_leave_ecs(shrunk) -> None:  # noqa: ANN001
    target, _, _ = shrunk
    assert list(services_by_name(target.client("ecs"), "shrink-test")) == ["a"]


def test_release_of_a_grouped_service_changes_only_its_group(local_aws, tmp_path_factory) -> None:  # noqa: ANN001
    local, target = local_aws
    config = tmp_path_factory.mktemp("grouped-release") / "stack.yaml"
    config.write_text(yaml.safe_dump({
        "name": "grel", "environment": "test", "region": "us-east-1", "cidr": "10.92.0.0/16", "bastion": False, "service_group_size": 1,
        "services": [{"name": n, "kind": "worker", "image": "busybox", "version": "1.0", "log_retention_on_delete": False} for n in ("a", "b")]}))
    assert cli(local, "deploy", "-c", str(config), "--create-bucket").returncode == 0
    cfn = target.client("cloudformation")
    root_before = cfn.describe_stacks(StackName="grel-test")["Stacks"][0].get("LastUpdatedTime")
    released = run_cli("release", "b=2.0", "-c", str(config), "--json", "--endpoint-url", local.endpoint_url, "--region", "us-east-1",
                       "--bucket", "scale-templates", env=AWS_ENV)
    assert released.returncode == 0, released.stderr[-2000:]
    assert "computing the change set of grel-test-services-1" in released.stderr and "change set of grel-test ..." not in released.stderr
    assert cfn.describe_stacks(StackName="grel-test")["Stacks"][0].get("LastUpdatedTime") == root_before, "the root is untouched"
    ecs = target.client("ecs")
    arn = services_by_name(ecs, "grel-test")["b"]["taskDefinition"]
    assert ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]["containerDefinitions"][0]["image"] == "busybox:2.0"
