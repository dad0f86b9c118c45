"""An IAM user of a stack whose name is 63 characters long, deployed to the local AWS: its name is predictable and
fits IAM's 64 characters, and its exports are named after the root stack (issue 18, items 1 and 2)."""

from __future__ import annotations

import pytest
import yaml

from stack_cfn.model.data import IAM_USER_NAME_MAX, iam_user_name
from stack_cfn.ship import deploy
from tests.conftest import AWS_ENV, all_exports, run_cli

pytestmark = pytest.mark.e2e
NAME, ENVIRONMENT = "a" * 30 + "z", "e" * 30 + "z"  # each at most 32 (model rule AWS_NAME): the stack name is 63
STACK = f"{NAME}-{ENVIRONMENT}"


@pytest.fixture(scope="module")
def users_stack(local_aws, tmp_path_factory):  # noqa: ANN001, ANN201
    local, target = local_aws
    root = tmp_path_factory.mktemp("users")
    config = root / "stack.yaml"
    config.write_text(yaml.safe_dump({
        "name": NAME, "environment": ENVIRONMENT, "region": "us-east-1", "cidr": "10.95.0.0/16", "bastion": False,
        "iam_users": [{"name": "ci", "policies": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::artifacts/*"}]},
                      {"name": "github-actions-deployer", "policies": ["arn:aws:iam::aws:policy/ReadOnlyAccess"]}]}))
    result = run_cli("deploy", "-c", str(config), "--bucket", "users-templates", "--create-bucket",
                     "--endpoint-url", local.endpoint_url, "--region", "us-east-1", env=AWS_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    return target


def test_a_63_character_stack_name_gives_predictable_user_names_within_64(users_stack) -> None:  # noqa: ANN001
    """IAM CreateUser: UserName at most 64 characters. The deployed names are the ones the build computed."""
    assert len(STACK) == 63
    names = {u["UserName"] for u in users_stack.client("iam").list_users()["Users"]}
    for user in ("ci", "github-actions-deployer"):
        expected = iam_user_name(STACK, user)
        assert expected in names and len(expected) <= IAM_USER_NAME_MAX
        assert expected.startswith(STACK[:20]) and f"-{user}-" in expected, "readable: the stack's name, then the user's"


def test_user_exports_are_named_after_the_root_stack(users_stack) -> None:  # noqa: ANN001
    """Exports <root stack>-<user>-<Output>, as a database's: no CloudFormation random suffix."""
    cfn = users_stack.client("cloudformation")
    exports = all_exports(cfn)
    user_arn = exports[f"{STACK}-ci-UserArn"]
    assert user_arn.endswith("/" + iam_user_name(STACK, "ci"))
    assert f"{STACK}-ci-AccessKeyId" in exports
    nested = cfn.describe_stacks(StackName=deploy.nested_stacks(cfn, STACK)["CiUser"])["Stacks"][0]["StackName"]
    assert nested != STACK and not [name for name in exports if nested in name], "no export carries the nested stack's name"

