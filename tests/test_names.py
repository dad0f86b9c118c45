"""Names derived from the stack: one module (model/names.py) builds them, and every user reads them from it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from stack_cfn.blueprints.compiler import compile_stack
from stack_cfn.blueprints.group import group_file
from stack_cfn.model import names
from stack_cfn.model.config import ServiceConfig, StackConfig
from stack_cfn.model.data import IamUserConfig
from stack_cfn.ship.placement_file import placement_path


def test_stack_and_cluster_names() -> None:
    assert names.stack_name("shop", "prod") == "shop-prod"
    assert names.cluster_name("shop", "prod") == "shop-prod"
    assert names.cluster_name("shop", "prod", "mine") == "mine"
    cfg = StackConfig(name="shop", environment="prod")
    assert (cfg.stack_name, cfg.cluster_name) == ("shop-prod", "shop-prod")
    assert StackConfig(name="shop", environment="prod", ecs_cluster_name="mine").cluster_name == "mine"


def test_service_group_names() -> None:
    assert names.group_file(3) == group_file(3) == "services-3.json"
    assert names.group_stack_name("shop-prod", 3) == "shop-prod-services-3"
    assert names.top_stack_name("services-3.json", "stack.json", "shop-prod") == names.group_stack_name("shop-prod", 3)
    assert names.top_stack_name("stack.json", "stack.json", "shop-prod") == "shop-prod"
    assert names.group_number("shop-prod-services-12") == 12


@pytest.mark.parametrize(("stack", "yes"), [
    ("shop-prod-services-1", True), ("shop-prod-services-12", True), ("shop-prod-services-0", False), ("shop-prod-services-", False),
    ("shop-prod-services-1-x", False), ("other-prod-services-1", False), ("shop-prod", False),
])
def test_group_stacks_of_a_root(stack: str, yes: bool) -> None:
    assert names.is_group_stack(stack, "shop-prod") is yes


def test_compiled_group_stacks_are_named_by_names() -> None:
    services = tuple(ServiceConfig(name=f"w{i}", image="busybox", kind="worker") for i in range(3))
    compiled = compile_stack(StackConfig(name="shop", environment="prod", services=services, service_group_size=1))
    assert compiled.groups == tuple(names.group_file(n) for n in range(1, len(compiled.groups) + 1)) != ()
    assert [compiled.stack_name(g, "shop-prod") for g in compiled.groups] == [names.group_stack_name("shop-prod", n)
                                                                               for n in range(1, len(compiled.groups) + 1)]


def test_export_and_placement_names() -> None:
    assert names.export_name("shop-prod", "VpcId") == "shop-prod-VpcId"
    assert names.export_name("shop-prod", "main", "Endpoint") == "shop-prod-main-Endpoint"
    assert names.placement_path("/x/stack.yaml") == Path("/x/stack.placement.yaml") == placement_path("/x/stack.yaml")


@pytest.mark.parametrize(("name", "refused"), [("ecs-app", True), ("AWS-app", True), ("fargate", True), ("shop", False), ("cpu", False)])
def test_capacity_provider_name(name: str, refused: bool) -> None:
    """ECS CreateCapacityProvider: "The name can't be prefixed with "aws", "ecs", or "fargate"" (model/aws_facts.py);
    CloudFormation's own name starts with the stack's, so such a stack's provider is named cp-<group>."""
    assert names.provider_needs_name(name) is refused
    provider = names.capacity_provider_name(name, f"{name}-prod")
    assert provider.startswith("cp-") is refused
    assert not provider.lower().startswith(("aws", "ecs", "fargate"))


def test_iam_user_names_fit_iam() -> None:
    """IAM user names are at most 64 characters (IAM and AWS STS quotas; AWS::IAM::User UserName)."""
    assert names.iam_user_name("shop-prod", "ci") == "shop-prod-ci"
    long = names.iam_user_name("s" * 63, "ci")
    assert len(long) == 64 and long.startswith("s" * 52 + "-ci-") and long == names.iam_user_name("s" * 63, "ci")
    cfg = StackConfig(name="shop", environment="prod", iam_users=(IamUserConfig(name="ci", policies=("arn:aws:iam::aws:policy/ReadOnlyAccess",)),))
    compiled = compile_stack(cfg)
    assert '"shop-prod-ci"' in "".join(compiled.files.values())


# Every place a name is derived from the stack's, as code spells it; only model/names.py may.
DERIVED = re.compile(r"""\{[a-z_.]*\bname\}-\{[a-z_.]*environment\}|["']-?services-["']|services-\{|\}\.placement\.yaml|\{F?\.?CAPACITY_PROVIDER_PREFIX\}""")
PENDING: set[str] = set()  # (was interfaces.py: the ServiceGroup RootStackName default, now stack_name in blueprints/group.py)


def test_no_module_but_names_derives_a_stack_name() -> None:
    root = Path(__file__).resolve().parent.parent / "stack_cfn"
    found = [f"{p.relative_to(root)}:{n}: {line.strip()}" for p in sorted(root.rglob("*.py"))
             if str(p.relative_to(root)) not in {"model/names.py", *PENDING}
             for n, line in enumerate(p.read_text().splitlines(), 1) if DERIVED.search(line) and not line.lstrip().startswith("#")]
    assert found == []
