"""`stack-cfn outputs` on the local AWS: the stack's front page, by layer and module, and pure JSON with --json (issue 19 item 3)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from stack_cfn.ship.local import local_ubuntu_ami
from tests.conftest import AWS_ENV, local_cli, moto_gap, run_cli

pytestmark = pytest.mark.e2e


def cli(local, *args: str):  # noqa: ANN001, ANN201
    return local_cli(local, *args)


@pytest.fixture(scope="module")
def front(local_aws, tmp_path_factory):  # noqa: ANN001, ANN201
    local, target = local_aws
    config = tmp_path_factory.mktemp("front") / "stack.yaml"
    config.write_text(yaml.safe_dump({
        "name": "front", "environment": "test", "region": "us-east-1", "cidr": "10.96.0.0/16", "bastion_ami": local_ubuntu_ami(target),
        "alarms": {"emails": ["ops@example.com"]},
        "databases": [{"name": "main"}],
        "iam_users": [{"name": "ci", "policies": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::artifacts/*"}]}],
        "services": [{"name": "www", "kind": "web-service", "image": "nginx", "port": 80, "https": False},
                     {"name": "api", "image": "nginx", "port": 80, "databases": ["main"]},
                     {"name": "jobs", "kind": "worker", "image": "busybox"}]}))
    result = cli(local, "deploy", "-c", str(config), "--bucket", "front-templates", "--create-bucket")
    assert result.returncode == 0, result.stdout + result.stderr
    return local, target, config


def test_outputs_json_is_the_front_page_by_layer_and_module(front) -> None:  # noqa: ANN001
    local, target, config = front
    result = cli(local, "outputs", "-c", str(config), "--json")
    assert result.returncode == 0, result.stderr
    tool = subprocess.run([sys.executable, "-m", "json.tool"], input=result.stdout, capture_output=True, text=True, check=False)
    assert tool.returncode == 0, "standard output is the JSON alone"
    page = json.loads(result.stdout)
    assert (page["stack"], page["region"]) == ("front-test", "us-east-1")
    assert page["network"]["VpcId"].startswith("vpc-") and page["cluster"]["Cluster"] == "front-test" and page["bastion"]["BastionIp"]
    assert list(page["services"]) == ["www", "api", "jobs"], "in the stack file's order"
    www, api = page["services"]["www"], page["services"]["api"]
    assert www["urls"][0].startswith("http://") and www["urls"][1] == "http://www.stack.local/"
    assert api["urls"] == ["http://api.stack.local/"] and page["services"]["jobs"]["urls"] == []
    db = page["databases"]["main"]
    assert db["endpoint"] and db["port"] == "5432" and db["secret_arn"].startswith("arn:aws:secretsmanager:")
    user = page["iam_users"]["ci"]
    assert user["access_key_id"].startswith("AKIA")
    topics = target.client("sns").list_topics()["Topics"]
    assert page["alarm_topic"] in [t["TopicArn"] for t in topics]


@moto_gap("moto's CloudFormation has no AWS::SecretsManager::Secret: the IAM user's SecretArn output is missing")
def test_outputs_give_the_iam_users_secret_arn(front) -> None:  # noqa: ANN001
    local, _, config = front
    page = json.loads(cli(local, "outputs", "-c", str(config), "--json").stdout)
    assert str(page["iam_users"]["ci"]["secret_arn"]).startswith("arn:aws:secretsmanager:")


def test_outputs_for_people_name_each_module(front) -> None:  # noqa: ANN001
    local, _, config = front
    result = cli(local, "outputs", "-c", str(config))
    assert result.returncode == 0, result.stderr
    for heading in ("network", "cluster", "bastion", "service www", "service api", "service jobs", "database main", "iam user ci", "alarms"):
        assert heading in result.stdout.splitlines(), heading
    assert "http://api.stack.local/" in result.stdout and "(no load balancer)" in result.stdout


def test_outputs_without_the_stack_file_still_groups_by_logical_id(front, tmp_path: Path) -> None:  # noqa: ANN001
    local, _, _ = front
    result = run_cli("outputs", "--stack-name", "front-test", "--endpoint-url", local.endpoint_url, "--region", "us-east-1", "--json",
                     cwd=tmp_path, env=AWS_ENV)  # no stack.yaml here, none named: a -c that names a missing file is an error
    assert result.returncode == 0, result.stderr
    page = json.loads(result.stdout)
    assert set(page["services"]) == {"www", "api", "jobs"} and set(page["databases"]) == {"main"} and set(page["iam_users"]) == {"ci"}
