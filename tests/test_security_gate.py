"""The security gate over a matrix of stack files: raw cfn-lint and checkov (offline) find nothing.

Raw means without the project's ignore list: where a warning is by design (W3002 on the root's
local TemplateURLs) the template itself says so in its Metadata. A check that is a deliberate
choice is suppressed in its resource's Metadata with the reason (blueprints/suppressions.py),
and docs/security.md lists each one.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from stack_cfn.blueprints import suppressions
from stack_cfn.blueprints.compiler import compile_generic, compile_stack
from stack_cfn.model.loading import load_config, parse_config
from stack_cfn.ship.files import write_tree
from stack_cfn.ship.lint import lint_findings

ROOT = Path(__file__).resolve().parent.parent
MATRIX = [ROOT / "stack.yaml", *sorted((ROOT / "tests" / "matrix").glob("*.yaml"))]


def checkov() -> str:
    path = Path(os.environ.get("STACK_CFN_CHECKOV", ROOT / ".venv-checkov" / "bin" / "checkov"))
    if not path.exists():
        pytest.fail(f"checkov is not installed at {path}: run make checkov (make test does)")
    return str(path)


def scan(directory: Path) -> list[dict]:
    """checkov over every template below `directory`, offline; the failed checks."""
    result = subprocess.run([checkov(), "-d", str(directory), "--framework", "cloudformation", "--skip-download", "--quiet", "--compact",
                             "-o", "json"], capture_output=True, text=True, timeout=600, env={**os.environ, "BC_SKIP_MAPPING": "TRUE"})
    assert result.stdout.strip(), result.stderr[-2000:]
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    return [f for r in reports if r for f in r["results"]["failed_checks"]]


@pytest.fixture(scope="module")
def matrix_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("gate")
    for path in MATRIX:
        write_tree(root / path.stem, compile_stack(load_config(path)).files)
    write_tree(root / "templates", compile_generic().files)
    return root


def test_raw_cfn_lint_finds_nothing(matrix_build: Path) -> None:
    findings = [f for path in sorted(matrix_build.rglob("*.json")) for f in lint_findings(f"{path.parent.name}/{path.name}", path.read_text(), ignore=())]
    assert findings == []


def test_checkov_finds_nothing(matrix_build: Path) -> None:
    failed = [f"{f['file_path']} {f['resource']} {f['check_id']} {f['check_name']}" for f in scan(matrix_build)]
    assert failed == []


def test_every_suppression_is_used_and_has_a_reason(matrix_build: Path) -> None:
    used = {(s["id"], s["comment"]) for path in matrix_build.rglob("*.json")
            for r in json.loads(path.read_text()).get("Resources", {}).values() for s in r.get("Metadata", {}).get("checkov", {}).get("skip", [])}
    declared = {(s.id, s.comment) for s in suppressions.ALL}
    assert used == declared
    assert all(len(comment) > 30 for _, comment in declared)


def test_the_security_page_lists_every_suppression() -> None:
    section = (ROOT / "docs" / "security.md").read_text()
    for skip in suppressions.ALL:
        assert skip.id in section and skip.comment in section, skip


def test_ssh_open_to_the_world_fails_the_gate(tmp_path: Path) -> None:
    """The gate can fail: a stack that says allow_ssh_from_anywhere is flagged."""
    cfg = parse_config("name: open\nenvironment: prod\nssh_cidr: 0.0.0.0/0\nallow_ssh_from_anywhere: true\n")
    write_tree(tmp_path / "open", compile_stack(cfg).files)
    assert {f["check_id"] for f in scan(tmp_path)} >= {"CKV_AWS_24"}


def test_matrix_covers_what_the_issue_names() -> None:
    text = "\n".join(p.read_text() for p in MATRIX)
    for setting in ("use_nat_instances: true", "use_eip_with_nat_instances: true", "ecs_scaling: managed", "load_balancer: classic",
                    "ssl_certificate_id", "secrets:", "repository_credentials", "ecs_docker_auth_secret_arn", "az_count: 2", "az_count: 4"):
        assert re.search(re.escape(setting), text), setting
