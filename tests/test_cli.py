"""The command line as a user meets it: one line on bad input, non-zero exit, nothing half-written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_cli


def test_build_writes_lint_clean_templates(tmp_path: Path) -> None:
    result = run_cli("build", "-c", "stack.yaml", "-o", str(tmp_path / "build"))
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in (tmp_path / "build").iterdir() if p.name != ".stack-cfn-files")
    assert [n for n in names if "-" not in n] == ["bastion.json", "cluster.json", "network.json", "stack.json"]
    assert sorted(n.rsplit("-", 1)[0] for n in names if "-" in n) == ["rds", "service", "service", "web-service", "worker"], "one per service shape, one per database"


@pytest.mark.parametrize("text,field", [
    ("name: a\n", "environment"),
    ("name: a\nenvironment: prod\nkey_name: k\ncidr: 10.30.0.0/33\n", "cidr"),
    ("name: a\nenvironment: prod\nkey_name: k\nuse_eip_with_nat_instances: true\n", "use_eip_with_nat_instances"),
    ("name: [a\n", "stack.yaml"),
])
def test_bad_input_exits_non_zero_and_writes_nothing(tmp_path: Path, text: str, field: str) -> None:
    config = tmp_path / "stack.yaml"
    config.write_text(text)
    out = tmp_path / "build"
    out.mkdir()
    (out / "keep.json").write_text("{}")
    result = run_cli("build", "-c", str(config), "-o", str(out))
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and field in lines[0] and lines[0].startswith("error:")
    assert sorted(p.name for p in out.iterdir()) == ["keep.json"], "an earlier build is left as it was"


def test_deploy_without_credentials_or_endpoint(tmp_path: Path) -> None:
    env = {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_PROFILE": "", "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
           "AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_ENDPOINT_URL": "", "AWS_EC2_METADATA_DISABLED": "true"}
    result = run_cli("outputs", "--stack-name", "x", "--region", "us-east-1", env=env)
    assert result.returncode == 1
    assert "no AWS credentials" in result.stderr and "stack-cfn up --local" in result.stderr, "deploy takes no --local: the hint names the command that does"
