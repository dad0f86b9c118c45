"""`stack-cfn diff OLD NEW` offline (issue 21, item 5): two builds, stack files or git revisions; the exit status
is CI's gate: 2 when a stateful resource would be replaced or removed, 0 otherwise, 1 for bad input."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_cli

NO_AWS = {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "", "AWS_DEFAULT_PROFILE": "",
          "AWS_ENDPOINT_URL": "", "AWS_REGION": "", "AWS_DEFAULT_REGION": "", "AWS_EC2_METADATA_DISABLED": "true",
          "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}  # any network call would fail


def stack_file(tmp_path: Path, name: str, replace: tuple[str, str] | None = None) -> Path:
    text = (ROOT / "stack.yaml").read_text()
    if replace:
        assert replace[0] in text
        text = text.replace(*replace)
    (tmp_path / name).mkdir()
    path = tmp_path / name / "stack.yaml"
    path.write_text(text)
    return path


def no_aws(tmp_path: Path) -> dict[str, str]:
    return {**NO_AWS, "AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}


def test_diff_between_two_builds_flags_a_database_replacement_and_exits_2(tmp_path: Path) -> None:
    """The proof of issue 21: the database's name (DBName, create-only in AWS::RDS::DBInstance's schema) changes
    between two builds; diff says REPLACE and DATA LOSS and exits 2, without AWS credentials or network."""
    old, new = tmp_path / "old", tmp_path / "new"
    for config, out in ((stack_file(tmp_path, "a"), old), (stack_file(tmp_path, "b", ("    engine: postgres\n", "    engine: postgres\n    database: shop\n")), new)):
        assert run_cli("build", "-c", str(config), "-o", str(out)).returncode == 0
    result = run_cli("diff", str(old), str(new), env=no_aws(tmp_path))
    assert result.returncode == 2, result.stderr
    lines = result.stdout.splitlines()
    assert any(line.startswith("stack.json > MainDatabase (rds-") for line in lines), result.stdout
    assert any(line.startswith("  ~ Database (AWS::RDS::DBInstance)  REPLACE  DATA LOSS: the database's data") for line in lines), result.stdout
    assert any('Properties.DBName: "main" -> "shop"  [REPLACES; create-only]' in line for line in lines), result.stdout
    assert any(line.startswith("!! DATA LOSS: the database's data") and "replaced" in line for line in lines), result.stdout
    assert result.stderr == ""

    same = run_cli("diff", str(old), str(old), env=no_aws(tmp_path))
    assert same.returncode == 0 and "no changes" in same.stdout


def test_json_output_has_the_changes_and_the_data_loss(tmp_path: Path) -> None:
    old = stack_file(tmp_path, "a")
    new = stack_file(tmp_path, "b", ("    engine: postgres\n", "    engine: postgres\n    database: shop\n"))
    result = run_cli("diff", "--json", str(old), str(new), env=no_aws(tmp_path))
    assert result.returncode == 2, result.stderr
    doc = json.loads(result.stdout)
    assert set(doc) == {"changed", "templates_compared", "data_loss", "templates"} and doc["changed"] is True
    assert doc["data_loss"] == [{"template": "stack.json > MainDatabase", "logical_id": "Database", "type": "AWS::RDS::DBInstance",
                                 "action": "modify", "replacement": "always", "loss": "the database's data", "mitigation": "snapshot taken"}]
    database = next(t for t in doc["templates"] if t["template"] == "stack.json > MainDatabase")
    assert database["old_file"].startswith("rds-") and database["old_file"] != database["new_file"]
    props = next(r for r in database["resources"] if r["logical_id"] == "Database")["properties"]
    assert {"path": "Properties.DBName", "old": "main", "new": "shop", "certain": True, "replacement": "always", "why": "create-only"} in props


def test_a_change_that_replaces_nothing_stateful_exits_0(tmp_path: Path) -> None:
    """DBInstanceClass is not create-only: the database is modified in place, the gate stays open."""
    old = stack_file(tmp_path, "a")
    new = stack_file(tmp_path, "b", ("    engine: postgres\n", "    engine: postgres\n    instance_class: db.t4g.large\n"))
    result = run_cli("diff", str(old), str(new), env=no_aws(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "  ~ Database (AWS::RDS::DBInstance)\n" in result.stdout and "DATA LOSS" not in result.stdout


def test_git_revision_against_the_working_tree(tmp_path: Path) -> None:
    """git:REV is the stack file as committed at REV; NEW defaults to the stack file as it is now."""
    git = shutil.which("git")
    assert git, "git is needed by stack-cfn diff git:REV"
    config = stack_file(tmp_path, "repo")
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    for argv in (["init", "-q"], ["add", "stack.yaml"], ["commit", "-q", "-m", "first"]):
        subprocess.run([git, *argv], cwd=config.parent, check=True, env={**no_aws(tmp_path), **env, "PATH": "/usr/bin:/bin"})
    assert run_cli("diff", "git:HEAD", cwd=config.parent, env=no_aws(tmp_path)).returncode == 0
    config.write_text(config.read_text().replace("    engine: postgres\n", "    engine: postgres\n    database: shop\n"))
    result = run_cli("diff", "git:HEAD", cwd=config.parent, env=no_aws(tmp_path))
    assert result.returncode == 2 and "comparing stack.yaml at HEAD with stack.yaml" in result.stdout, result.stdout + result.stderr


@pytest.mark.parametrize("old,needle", [
    ("no-such-dir", "OLD no-such-dir: is neither a build directory, a stack file nor git:REV"),
    ("git:", "git: names no revision"),
])
def test_bad_sides_are_one_line(tmp_path: Path, old: str, needle: str) -> None:
    result = run_cli("diff", old, str(ROOT / "stack.yaml"), cwd=tmp_path, env=no_aws(tmp_path))
    lines = result.stderr.splitlines()
    assert result.returncode == 1 and len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], result.stderr
    assert result.stdout == ""
