"""Retained log groups (the default) no longer block a later create of the same service (issue 18, item 12).

moto updates a nested stack by deleting and recreating its resources, so an edited service's stack creates its
log group again while the retained one still exists; a fixed LogGroupName answered "already exists" there, as
real AWS does after `destroy` then `deploy` under the same name. Here: deploy, edit the service, deploy again,
with log_retention_on_delete left at its default.
"""

from __future__ import annotations

import pytest
import yaml

from stack_cfn.ship import deploy
from stack_cfn.ship.local import local_ubuntu_ami
from tests.conftest import AWS_ENV, run_cli

pytestmark = pytest.mark.e2e


def test_an_edited_service_redeploys_with_its_log_group_retained(local_aws, tmp_path) -> None:  # noqa: ANN001
    local, target = local_aws
    config = tmp_path / "stack.yaml"

    def deploy_version(version: str) -> None:
        config.write_text(yaml.safe_dump({
            "name": "logs", "environment": "test", "region": "us-east-1", "cidr": "10.96.0.0/16", "bastion_ami": local_ubuntu_ami(target),
            "services": [{"name": "api", "kind": "worker", "image": "busybox", "version": version}]}))
        result = run_cli("deploy", "-c", str(config), "--bucket", "logs-templates", "--create-bucket",
                         "--endpoint-url", local.endpoint_url, "--region", "us-east-1", env=AWS_ENV)
        assert result.returncode == 0, result.stdout + result.stderr

    deploy_version("1.36")
    cfn, logs = target.client("cloudformation"), target.client("logs")
    first = deploy.stack_outputs(cfn, deploy.nested_stacks(cfn, "logs-test")["ApiService"])["LogGroup"]
    deploy_version("1.37")
    current = deploy.stack_outputs(cfn, deploy.nested_stacks(cfn, "logs-test")["ApiService"])["LogGroup"]
    names = {g["logGroupName"] for g in logs.describe_log_groups(logGroupNamePrefix="logs-test-")["logGroups"]}
    assert current in names and first in names, "the first group is kept (Retain), the service writes to its current one"
    assert not first.startswith("/"), "named by CloudFormation, not /<stack>/<service>"
