"""A StackSet of a stack with services and a database, over three regions of the local AWS (issue 19 item 6)."""

from __future__ import annotations

import re

import pytest
import yaml

from tests.conftest import AWS_ENV, run_cli

pytestmark = pytest.mark.e2e
REGIONS = ("us-east-1", "us-west-2", "eu-west-1")
# ELBv2 API reference, CreateTargetGroup: Name: at most 32 alphanumeric characters or hyphens, not beginning or ending with a hyphen.
TARGET_GROUP_NAME = re.compile(r"^(?!-)[A-Za-z0-9-]{1,32}(?<!-)$")
# RDS API reference, CreateDBInstance: DBInstanceIdentifier: 1 to 63 letters, digits or hyphens; a letter first; no hyphen last or twice in a row.
DB_IDENTIFIER = re.compile(r"^[A-Za-z](?!.*--)[A-Za-z0-9-]{0,62}(?<!-)$")


@pytest.fixture(scope="module")
def stack_set(local_aws, tmp_path_factory):  # noqa: ANN001, ANN201
    local, target = local_aws
    config = tmp_path_factory.mktemp("sset") / "stack.yaml"
    config.write_text(yaml.safe_dump({
        "name": "fleet", "environment": "test", "region": "us-east-1", "cidr": "10.130.0.0/16", "bastion": False,
        "databases": [{"name": "main"}],
        "services": [{"name": "api", "image": "nginx", "port": 80, "databases": ["main"], "log_retention_on_delete": False},
                     {"name": "www", "kind": "web-service", "image": "nginx", "port": 80, "https": False, "log_retention_on_delete": False}]}))
    result = run_cli("stackset", "-c", str(config), "--regions", ",".join(REGIONS), "--max-concurrent", "3", "--bucket", "fleet-templates",
                     "--create-bucket", "--endpoint-url", local.endpoint_url, "--region", "us-east-1", env=AWS_ENV)
    return target, result


def test_every_instance_is_current(stack_set) -> None:  # noqa: ANN001
    target, result = stack_set
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    instances = target.client("cloudformation").list_stack_instances(StackSetName="fleet-test")["Summaries"]
    assert sorted(i["Region"] for i in instances) == sorted(REGIONS) and all(i["Status"] == "CURRENT" for i in instances)


@pytest.mark.parametrize("region", REGIONS)
def test_each_region_has_both_services_target_groups_and_the_database(stack_set, region: str) -> None:  # noqa: ANN001
    target, result = stack_set
    assert result.returncode == 0, result.stderr[-3000:]
    groups = target.client("elbv2", region=region).describe_target_groups()["TargetGroups"]
    names = [g["TargetGroupName"] for g in groups if g["TargetGroupName"].startswith("StackSet-fleet-test-")]
    assert len(names) == 2 and all(TARGET_GROUP_NAME.match(n) for n in names), names
    fleet_vpcs = {v["VpcId"] for v in target.client("ec2", region=region).describe_vpcs()["Vpcs"] if v["CidrBlock"] == f"10.{130 + REGIONS.index(region)}.0.0/16"}
    dbs = [d["DBInstanceIdentifier"] for d in target.client("rds", region=region).describe_db_instances()["DBInstances"]
           if d["DBSubnetGroup"]["VpcId"] in fleet_vpcs]  # the local AWS is shared with other tests' stacks
    assert len(dbs) == 1 and DB_IDENTIFIER.match(dbs[0]), dbs
    clusters = target.client("ecs", region=region).list_services(cluster="fleet-test")["serviceArns"]
    assert len(clusters) == 2

