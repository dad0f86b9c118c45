"""Generated docs and the diagram in docs/design.md stay in step with the code."""

from __future__ import annotations

from pathlib import Path

import pytest

from stack_cfn import cli
from stack_cfn.blueprints.compiler import compile_generic
from stack_cfn.docs import diagram, settings_md, templates_md
from stack_cfn.model.loading import load_config, parse_config

ROOT = Path(__file__).resolve().parent.parent


def test_reference_docs_are_current() -> None:
    assert (ROOT / "docs" / "templates.md").read_text() == templates_md(compile_generic().files), "run make templates (stack-cfn docs)"
    assert (ROOT / "docs" / "settings.md").read_text() == settings_md(), "run make templates (stack-cfn docs)"


def test_the_docs_cover_every_template_parameter_and_setting() -> None:
    import dataclasses
    import json

    from stack_cfn.model.config import StackConfig

    text = templates_md(compile_generic().files)
    for name, body in compile_generic().files.items():
        assert f"## {name}" in text
        for param in json.loads(body).get("Parameters", {}):
            assert f"| `{param}` |" in text, (name, param)
    settings = settings_md()
    assert all(f"| `{f.name}` |" in settings for f in dataclasses.fields(StackConfig) if f.init)


def test_the_design_notes_embed_the_example_stacks_diagram() -> None:
    page = (ROOT / "docs" / "design.md").read_text()
    embedded = page.split("<!-- diagram:start -->\n", 1)[1].split("<!-- diagram:end -->", 1)[0]
    assert embedded == diagram(load_config(ROOT / "stack.yaml")), "paste the output of stack-cfn diagram into docs/design.md"


def test_the_diagram_shows_every_part() -> None:
    cfg = parse_config("name: a\nenvironment: prod\naz_count: 2\nuse_nat_instances: true\nssh_cidr: 203.0.113.0/24\n"
                       "databases:\n  - {name: main}\n  - {name: wh, engine: aurora-postgresql, instance_count: 2}\n"
                       "iam_users:\n  - {name: ci, policies: [arn:aws:iam::aws:policy/ReadOnlyAccess]}\n"
                       "services:\n  - {name: api, image: nginx, port: 80, databases: [main]}\n  - {name: jobs, kind: worker, image: busybox}\n")
    text = diagram(cfg)
    for part in ("VPC a-prod 10.30.0.0/16", "internal 10.30.64.0/19", "external 10.30.96.0/20", "NAT instance", "SSH from 203.0.113.0/24",
                 "api<br/>api.stack.local", "internal ALB", "svc_api --> db_main", "jobs<br/>worker", "postgres 16", "Aurora postgresql x2",
                 "IAM user ci", "log bucket"):
        assert part in text, part
    assert "internet" not in text, "no public service, no internet"
    assert "az3" not in text


def test_diagram_and_docs_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["diagram", "-c", str(ROOT / "stack.yaml")]) == 0
    assert capsys.readouterr().out == diagram(load_config(ROOT / "stack.yaml"))
    assert cli.main(["docs", "-o", str(tmp_path / "docs")]) == 0
    assert sorted(p.name for p in (tmp_path / "docs").iterdir()) == ["settings.md", "templates.md"]
    mine = tmp_path / "notes.md"
    mine.write_text("my own notes\n")
    assert cli.main(["diagram", "-c", str(ROOT / "stack.yaml"), "-o", str(mine)]) == 1, "never overwrites a file it did not write"
    assert mine.read_text() == "my own notes\n"


def test_the_reference_covers_every_drop_in_template() -> None:
    from stack_cfn.blueprints.compiler import compile_generic
    from stack_cfn.docs import TEMPLATE_ORDER

    assert set(compile_generic().files) == set(TEMPLATE_ORDER)


def test_the_diagram_shows_shared_load_balancers_and_alarms() -> None:
    from stack_cfn.docs import diagram
    from stack_cfn.model.loading import load_config

    shared = diagram(load_config(ROOT / "tests" / "matrix" / "shared-albs.yaml"))
    assert 'shared_internal{{"internal shared ALBs<br/>host rules"}}' in shared and "shared_internal --> svc_api" in shared
    assert "internet --> shared_public" in shared and "lb_own" in shared, "a service with its own ALB keeps it"
    assert "SNS topic to ops@example.com" in diagram(load_config(ROOT / "tests" / "matrix" / "alarms.yaml"))
