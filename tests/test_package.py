"""The bundle of `stack-cfn package` and the stack policies, without AWS (tests/test_e2e_package.py deploys them)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from stack_cfn.blueprints import stack_policy as sp
from stack_cfn.blueprints.compiler import compile_stack
from stack_cfn.model.config import ServiceConfig, StackConfig
from stack_cfn.model.data import DatabaseConfig, IamUserConfig
from stack_cfn.ship import package, protect
from tests.conftest import ROOT, run_cli

DENY = ["Update:Replace", "Update:Delete"]


def every_kind() -> StackConfig:
    """A database, an IAM user (its key in a secret), the bastion (an EIP), NAT gateways (EIPs), the log bucket, one service
    keeping its logs and one not."""
    return StackConfig(name="shop", environment="prod", key_name="k", az_count=2,
                       databases=(DatabaseConfig(name="orders"),),
                       iam_users=(IamUserConfig(name="ci", policies=("arn:aws:iam::aws:policy/ReadOnlyAccess",)),),
                       services=(ServiceConfig(name="api", image="nginx", port=80),
                                 ServiceConfig(name="tmp", kind="worker", image="busybox", log_retention_on_delete=False)))


@pytest.fixture(scope="module")
def compiled():  # noqa: ANN201
    return compile_stack(every_kind())


def test_every_stateful_resource_is_guarded_and_nothing_else(compiled) -> None:  # noqa: ANN001
    paths = sorted(g.path for g in sp.guards(compiled.files, compiled.root))
    assert paths == ["ApiService/LogGroup", "BastionStack", "BastionStack/BastionEip", "CiUser", "CiUser/AccessKeySecret",
                     "NetworkStack", "NetworkStack/LogBucket", "NetworkStack/NatEip1", "NetworkStack/NatEip2",
                     "NetworkStack/NatInstanceEip1", "NetworkStack/NatInstanceEip2",
                     "OrdersDatabase", "OrdersDatabase/Database"]


def test_a_parent_denies_removing_only_the_nested_stacks_whose_state_would_not_survive(compiled) -> None:  # noqa: ANN001
    """Retained resources (DeletionPolicy Retain) outlive their stack: a service keeping its logs may still be removed."""
    root = sp.policies(compiled.files, compiled.root)[""]
    assert root["Statement"][0] == {"Action": "Update:*", "Effect": "Allow", "Principal": "*", "Resource": "*"}
    assert [s["Resource"] for s in root["Statement"][1:]] == [f"LogicalResourceId/{i}" for i in ("BastionStack", "CiUser", "NetworkStack", "OrdersDatabase")]
    assert all(s["Effect"] == "Deny" and s["Action"] == DENY for s in root["Statement"][1:])
    assert sorted(sp.policies(compiled.files, compiled.root)) == ["", "ApiService", "BastionStack", "CiUser", "NetworkStack", "OrdersDatabase"]


def test_policy_documents_follow_the_stack_policy_rules() -> None:
    """"Prevent updates to stack resources" (CloudFormation User Guide): a Deny always overrides an Allow; a stack with a policy
    denies what no statement allows; no policy allows every update."""
    doc = sp.policy(["Db"])
    assert sp.denies(doc, "Update:Replace", "Db") and sp.denies(doc, "Update:Delete", "Db")
    assert not sp.denies(doc, "Update:Modify", "Db") and not sp.denies(doc, "Update:Replace", "Other")
    assert sp.denies({"Statement": [{"Effect": "Allow", "Action": "Update:Modify", "Principal": "*", "Resource": "*"}]}, "Update:Delete", "X")
    assert not sp.denies(None, "Update:Delete", "X")
    assert sp.denies({"Statement": [{"Effect": "Deny", "Action": "Update:*", "Principal": "*", "Resource": "LogicalResourceId/Db*"},
                                    {"Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*"}]}, "Update:Replace", "Db1")


def test_a_policy_past_the_api_limit_is_refused() -> None:
    """SetStackPolicy, StackPolicyBody: at most 16,384 bytes (CloudFormation API Reference)."""
    assert len(sp.policy_body(sp.policy([f"Resource{i}" for i in range(5)]))) < sp.POLICY_BODY_LIMIT
    with pytest.raises(ValueError, match="16384"):
        sp.policy_body(sp.policy([f"Resource{i}" for i in range(200)]))


def test_blocked_reads_action_and_replacement_of_each_change() -> None:
    documents = {"": sp.policy(["OrdersDatabase"]), "OrdersDatabase": sp.policy(["Database"])}
    changes = [{"LogicalResourceId": "OrdersDatabase/Database", "ResourceType": "AWS::RDS::DBInstance", "Action": "Modify", "Replacement": "True"},
               {"LogicalResourceId": "OrdersDatabase/Database", "ResourceType": "AWS::RDS::DBInstance", "Action": "Modify", "Replacement": "Conditional"},
               {"LogicalResourceId": "OrdersDatabase/Database", "ResourceType": "AWS::RDS::DBInstance", "Action": "Modify", "Replacement": "False"},
               {"LogicalResourceId": "OrdersDatabase", "ResourceType": "AWS::CloudFormation::Stack", "Action": "Remove"},
               {"LogicalResourceId": "ApiService", "ResourceType": "AWS::CloudFormation::Stack", "Action": "Remove"}]
    assert sp.blocked(changes, documents) == [
        "OrdersDatabase/Database (AWS::RDS::DBInstance) would be replaced: OrdersDatabase's stack policy denies Update:Replace",
        "OrdersDatabase/Database (AWS::RDS::DBInstance) may be replaced: OrdersDatabase's stack policy denies Update:Replace",
        "OrdersDatabase (AWS::CloudFormation::Stack) would be removed: the stack policy denies Update:Delete"]


def test_allow_replace_relaxes_exactly_what_it_names() -> None:
    root = sp.policy(["NetworkStack", "OrdersDatabase"])
    assert protect.relaxed(root, "", {"OrdersDatabase"}) == sp.policy(["NetworkStack"])
    assert protect.relaxed(sp.policy(["Database"]), "OrdersDatabase", {"OrdersDatabase"}) == sp.policy([])
    assert protect.relaxed(sp.policy(["LogBucket", "NatEip1"]), "NetworkStack", {"LogBucket"}) == sp.policy(["NatEip1"])
    assert {"OrdersDatabase", "OrdersUser", "orders"} == protect.candidates("orders", None)


class FakeCloudFormation:
    """describe_stacks / describe_stack_resources / get_ and set_stack_policy over two stacks: root and its nested database."""

    def __init__(self) -> None:
        self.policies: dict[str, str] = {"root": sp.policy_body(sp.policy(["OrdersDatabase"])), "root-db": sp.policy_body(sp.policy(["Database"]))}
        self.calls: list[tuple[str, str]] = []

    def describe_stacks(self, StackName: str) -> dict:  # noqa: N803
        return {"Stacks": [{"StackName": StackName, "StackStatus": "UPDATE_COMPLETE"}]}

    def describe_stack_resources(self, StackName: str) -> dict:  # noqa: N803
        nested = [{"LogicalResourceId": "OrdersDatabase", "ResourceType": "AWS::CloudFormation::Stack", "PhysicalResourceId": "root-db"}]
        return {"StackResources": nested if StackName == "root" else []}

    def get_stack_policy(self, StackName: str) -> dict:  # noqa: N803
        return {"StackPolicyBody": self.policies[StackName]} if StackName in self.policies else {}

    def set_stack_policy(self, StackName: str, StackPolicyBody: str) -> None:  # noqa: N803
        self.calls.append((StackName, StackPolicyBody))
        self.policies[StackName] = StackPolicyBody


def test_a_failed_deploy_puts_the_relaxed_policies_back_and_a_good_one_sets_the_new_ones() -> None:
    cfn = FakeCloudFormation()
    target = SimpleNamespace(client=lambda name: cfn)
    cfg = StackConfig(name="shop", environment="prod", bastion=False, databases=(DatabaseConfig(name="orders"),))
    built = compile_stack(cfg)
    before = dict(cfn.policies)
    out = SimpleNamespace(info=lambda message: None, step=lambda *a: __import__("contextlib").nullcontext())

    @protect.guarded
    def deploy(allow_replace: list[str], out, fail: bool) -> int:  # noqa: ANN001
        protect.guard_deploy(allow_replace, out, target, built, cfg, "root")
        assert "Deny" not in cfn.policies["root-db"] and "OrdersDatabase" not in cfn.policies["root"]
        if fail:
            raise RuntimeError("the stack rolled back")
        return 0

    with pytest.raises(RuntimeError):
        deploy(["orders"], out, True)
    assert cfn.policies == before, "set back as they were"
    assert deploy(["orders"], out, False) == 0
    assert json.loads(cfn.policies["root-db"]) == sp.policy(["Database"])


def test_capabilities_come_from_the_one_derivation() -> None:
    """CreateStack, Capabilities (CloudFormation API Reference): the bundle lists what ship/capabilities.py derives for each
    top-level stack (a database's IAM user has a custom name: CAPABILITY_NAMED_IAM), the same list deploy passes."""
    from stack_cfn.ship.capabilities import of_operation

    compiled = compile_stack(every_kind())
    assert "CAPABILITY_NAMED_IAM" in of_operation(compiled.files, compiled.operations, compiled.root)


def bundle(cfg: StackConfig) -> dict[str, str]:
    compiled = compile_stack(cfg)
    urls = {top: f"https://b.s3.us-east-1.amazonaws.com/stack-cfn/{top}" for top in compiled.stacks}
    return package.bundle(compiled, dict(compiled.files), urls, "shop-prod", {"region": "us-east-1", "bucket": "b", "prefix": "stack-cfn"})


def test_each_stack_gets_a_codepipeline_template_configuration() -> None:
    """CodePipeline's CloudFormation action: a template configuration file holds Parameters, Tags and StackPolicy
    (CloudFormation User Guide, "CloudFormation artifacts")."""
    cfg = StackConfig(name="shop", environment="prod", bastion=False, service_group_size=1,
                      services=tuple(ServiceConfig(name=f"w{i}", kind="worker", image="busybox") for i in range(3)))
    files = bundle(cfg)
    manifest = json.loads(files["manifest.json"])
    assert manifest["waves"] == [["shop-prod"], ["shop-prod-services-1", "shop-prod-services-2"]]
    for entry in manifest["stacks"]:
        config = json.loads(files[entry["configuration"]])
        assert set(config) == {"Parameters", "Tags", "StackPolicy"} and config["StackPolicy"] == json.loads(files[entry["policy"]])
        assert json.loads(files[entry["parameters"]]) == [f"{k}={v}" for k, v in config["Parameters"].items()]
        assert json.loads(files[entry["capabilities_file"]]) == entry["capabilities"] == ["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"]  # nested stacks: ship/capabilities.py acknowledges AUTO_EXPAND
        assert all(f in files for f in (entry["template"], entry["tags"], *entry["nested_policies"].values()))
    assert json.loads(files["services-2.config.json"])["Parameters"] == {"RootStackName": "shop-prod"}


BUNDLE_DIGEST = """
import hashlib, sys
sys.path.insert(0, {root!r})
from tests.test_package import bundle, every_kind
files = bundle(every_kind())
print(hashlib.sha256(repr(sorted(files.items())).encode()).hexdigest())
"""


def test_the_bundle_is_byte_identical_across_runs_and_hash_seeds() -> None:
    digests = set()
    for seed in ("0", "1", "0", "123"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run([sys.executable, "-c", BUNDLE_DIGEST.format(root=str(ROOT))], capture_output=True, text=True, env=env, timeout=300)
        assert result.returncode == 0, result.stderr[-2000:]
        digests.add(result.stdout.strip())
    assert len(digests) == 1
    assert digests == {hashlib.sha256(repr(sorted(bundle(every_kind()).items())).encode()).hexdigest()}


def test_package_refuses_a_directory_of_someone_else_before_sending_anything(tmp_path: Path) -> None:
    (tmp_path / "stack.yaml").write_text("name: shop\nenvironment: prod\nbastion: false\n")
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "notes.txt").write_text("mine")
    result = run_cli("package", "-c", str(tmp_path / "stack.yaml"), "--bucket", "templates", "-o", str(tmp_path / "dist"),
                     "--endpoint-url", "http://127.0.0.1:9", env={"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"})
    assert result.returncode == 1 and "holds files stack-cfn did not write (notes.txt)" in result.stderr
    assert "reaching AWS" not in result.stderr and sorted(p.name for p in (tmp_path / "dist").iterdir()) == ["notes.txt"]
