"""Whole compiles: lint-clean across a matrix, deterministic, templates/ in sync."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stack_cfn.blueprints.compiler import compile_generic, compile_stack
from stack_cfn.errors import LintError
from stack_cfn.model.config import StackConfig
from stack_cfn.ship.lint import lint_findings, lint_templates

ROOT = Path(__file__).resolve().parent.parent

MATRIX = {
    "2az-nat-gateways": dict(az_count=2),
    "3az-nat-instances-expiry": dict(use_nat_instances=True, logs_expiration_enabled=True, logs_expiration_days=7),
    "4az-nat-instance-eips-managed": dict(az_count=4, use_nat_instances=True, use_eip_with_nat_instances=True, ecs_scaling="managed"),
    "custom-ami-extra-sgs-cloud-config": dict(
        ecs_ami="ami-0123456789abcdef0", bastion_ami="ami-0123456789abcdef1", ecs_security_groups=("sg-0123456789abcdef0",),
        extra_cloud_config_type="text/x-shellscript", extra_cloud_config_content="#!/bin/sh\necho hi\n",
        ecs_docker_auth_type="dockercfg", ecs_docker_auth_secret_arn="arn:aws:secretsmanager:eu-central-2:123456789012:secret:auth-AbCdEf",
        region="eu-central-2", cidr="172.20.0.0/20", log_bucket_name="my-app-prod-logs",
    ),
}


@pytest.mark.parametrize("changes", MATRIX.values(), ids=MATRIX.keys())
def test_matrix_is_lint_clean(changes: dict) -> None:
    cfg = StackConfig(name="my-app", environment="prod", key_name="my-key", **changes)
    compiled = compile_stack(cfg)
    assert set(compiled.files) >= {"stack.json", "network.json", "cluster.json", "bastion.json"}
    findings = [f for name, body in compiled.files.items() for f in lint_findings(name, body)]
    assert findings == []


def test_lint_reports_template_logical_id_and_rule() -> None:
    bad = '{"Resources": {"Web": {"Type": "AWS::EC2::Instance", "Properties": {"ImageId": "ami-12345678", "InstanceType": 3}}}}'
    with pytest.raises(LintError) as err:
        lint_templates({"bad.json": bad})
    assert any(f.startswith("bad.json: E") and " Web: " in f for f in err.value.findings)


def test_same_input_gives_byte_identical_output(cfg: StackConfig) -> None:
    assert compile_stack(cfg).files == compile_stack(StackConfig(name="my-app", environment="prod", key_name="my-key")).files


def test_templates_directory_is_in_sync_with_the_compiler() -> None:
    generic = compile_generic().files
    on_disk = {p.name: p.read_text() for p in (ROOT / "templates").glob("*.json")}
    stale = sorted(name for name in generic if on_disk.get(name) != generic[name])
    extra = sorted(set(on_disk) - set(generic))
    assert not stale and not extra, f"templates/ is out of date ({stale + extra}); run make templates"


def test_generic_templates_leave_required_inputs_to_the_user() -> None:
    import json

    for name, body in compile_generic().files.items():
        params = json.loads(body).get("Parameters", {})
        if name in ("rds.json", "rds-cluster.json", "iam-user.json"):
            assert "Default" not in params["Name"], f"{name}: Name is the user's to give"
            continue
        if "StackName" in params:  # a service: Environment left empty is imported from the stack
            assert params["Environment"]["Default"] == "" and "Default" not in params["Name"] and "Default" not in params["Image"], name
            continue
        assert params.get("KeyName", {}).get("Default", "") == "", f"{name}: a key pair is optional"
        for required in ("Name", "Environment"):
            if required in params:
                assert "Default" not in params[required], f"{name}: {required}"
        if "Cidr" in params:
            assert params["Cidr"]["Default"] == "10.30.0.0/16"


def test_lint_cache_lints_each_template_once_and_keeps_findings(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    from stack_cfn.ship import lint

    monkeypatch.setenv("STACK_CFN_CACHE_DIR", str(tmp_path))
    files = compile_stack(StackConfig(name="cached", environment="prod")).files
    lint_templates(files)
    assert len(list((tmp_path / "lint").glob("*.json"))) == len(set(files.values()))

    def must_not_lint(work: list) -> list:
        raise AssertionError(f"linted again: {len(work)} template(s)")

    monkeypatch.setattr(lint, "_lint_all", must_not_lint)
    lint_templates(files)  # every body cached: nothing linted
    bad = '{"Resources": {"Web": {"Type": "AWS::EC2::Instance", "Properties": {"ImageId": "ami-12345678", "InstanceType": 3}}}}'
    monkeypatch.undo()
    monkeypatch.setenv("STACK_CFN_CACHE_DIR", str(tmp_path))
    with pytest.raises(LintError):
        lint_templates({"bad.json": bad})
    monkeypatch.setattr(lint, "_lint_all", must_not_lint)
    with pytest.raises(LintError) as again:
        lint_templates({"renamed.json": bad})  # cached findings still fail the build, under the name given now
    assert all(f.startswith("renamed.json: E") for f in again.value.findings)


def test_the_cache_key_follows_content_version_and_rules() -> None:
    from stack_cfn.ship.lint import cache_key

    base = cache_key("{}", ["us-east-1"], ["W3002"])
    assert base == cache_key("{}", ["us-east-1"], ["W3002"])
    assert len({base, cache_key("{ }", ["us-east-1"], ["W3002"]), cache_key("{}", ["eu-west-1"], ["W3002"]), cache_key("{}", ["us-east-1"], [])}) == 4


def test_alike_services_are_built_once_and_equal_a_build_of_their_own() -> None:
    """A template is built per distinct shape; each service's file is byte-identical to building it alone."""
    from stack_cfn.blueprints.root import canonical_json
    from stack_cfn.blueprints.service import build_service, shape_key
    from stack_cfn.model.config import ServiceAutoScaling, ServiceConfig

    services = tuple(ServiceConfig(name=f"s{i}", image=f"team/app{i % 3}", port=8000 + i, version=f"1.{i}", cpu=256 * (1 + i % 2),
                                   desired_count=i % 4, log_retention_days=(7, 30)[i % 2], dns_name=f"d{i}" if i % 3 else "",
                                   autoscaling=ServiceAutoScaling(min_count=0, max_count=5) if i % 5 == 0 else None,
                                   env={"MODE": "x"} if i % 2 else {}) for i in range(12))
    from stack_cfn.blueprints import compiler

    built = []
    original = compiler.built
    compiler.built = lambda m, shape: (built.append(shape) if m.name == "service" else None) or original(m, shape)  # type: ignore[assignment]
    try:
        compiled = compile_stack(StackConfig(name="shapes", environment="prod", services=services)).files
        assert len(built) == len({shape_key(s) for s in services}) < len(services)
        built.clear()
        compile_stack(StackConfig(name="alike", environment="prod", services=tuple(
            ServiceConfig(name=f"a{i}", image=f"team/app{i}", port=8000 + i, version=f"1.{i}", memory=512 + i) for i in range(50))))
        assert len(built) == 1, "names, images, ports, versions and sizes only fill parameters: one build"
    finally:
        compiler.built = original  # type: ignore[assignment]  # restored from the patch above
    root = json.loads(compiled["stack.json"])["Resources"]
    for svc in services:
        assert compiled[root[svc.logical_id]["Properties"]["TemplateURL"]] == canonical_json(build_service(svc)), svc.name
    assert len({root[s.logical_id]["Properties"]["TemplateURL"] for s in services}) == 4  # env x autoscaling
