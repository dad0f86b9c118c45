"""Services past one CloudFormation operation: placed in service-group stacks, stably, within every quota."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stack_cfn import cli
from stack_cfn.blueprints.compiler import Compiled, compile_stack
from stack_cfn.errors import ConfigError
from stack_cfn.model import quotas
from stack_cfn.model.config import ServiceConfig, StackConfig
from stack_cfn.model.placement import GROUP_FILL, Cost, Limits, Placement, Room, place
from stack_cfn.ship import stackset
from stack_cfn.ship.files import OutputError
from stack_cfn.ship.placement_file import placement_path, read_placement, record_placement


def services(n: int, kind: str = "service", start: int = 0) -> tuple[ServiceConfig, ...]:
    if kind == "worker":
        return tuple(ServiceConfig(name=f"w{i:04d}", image="busybox", kind="worker") for i in range(start, start + n))
    return tuple(ServiceConfig(name=f"s{i:04d}", image="nginx", port=80) for i in range(start, start + n))


def stack(svcs: tuple[ServiceConfig, ...], **kw: object) -> StackConfig:
    return StackConfig(name="big", environment="prod", services=svcs, **kw)


def operation_sizes(compiled: Compiled) -> dict[str, int]:
    """Resources each top-level stack's operation touches, counted from the compiled files as CloudFormation would."""
    count = lambda name: len(json.loads(compiled.files[name])["Resources"])  # noqa: E731
    sizes = {}
    for top in compiled.stacks:
        nested = [r["Properties"]["TemplateURL"] for r in json.loads(compiled.files[top])["Resources"].values()
                  if r["Type"] == "AWS::CloudFormation::Stack"]
        sizes[top] = count(top) + sum(count(n) for n in nested)
    return sizes


# ---------------------------------------------------------------- the placement rule


costs = st.lists(st.integers(min_value=3, max_value=60), min_size=1, max_size=150)


@settings(max_examples=60, deadline=None)
@given(costs, st.integers(min_value=0, max_value=150), st.integers(min_value=3, max_value=60), st.sets(st.integers(0, 149), max_size=20))
def test_adding_or_removing_a_service_never_moves_another(sizes: list[int], at: int, size: int, removed: set[int]) -> None:
    limits = Limits(root_operation=600, group_operation=400, template=50)
    before = [Cost(f"s{i}", n) for i, n in enumerate(sizes)]
    first = place(before, {}, Room(100, 3), limits)
    after = [c for i, c in enumerate(before) if i not in removed]
    after.insert(min(at, len(after)), Cost("new", size))
    second = place(after, first.groups, Room(100, 3), limits)
    for cost in after:
        if cost.name != "new":
            assert second.groups[cost.name] == first.groups[cost.name], f"{cost.name} moved"
    for group in {0, *second.numbers}:
        members = [c for c in after if second.groups[c.name] == group]
        base = 100 if group == 0 else 0
        assert base + sum(c.operation for c in members) <= (600 if group == 0 else 400)
        assert len(members) + (3 if group == 0 else 0) <= 50


def test_without_a_placement_file_the_root_fills_in_description_order() -> None:
    placement = place([Cost(f"s{i}", 9) for i in range(10)], {}, Room(0, 0), Limits(root_operation=40))
    assert placement.members(0) == ["s0", "s1", "s2", "s3"]
    assert placement.numbers == [1]


def test_a_new_service_takes_the_lowest_stack_with_room() -> None:
    recorded = {"a": 0, "b": 2}
    placement = place([Cost("a", 9), Cost("b", 9), Cost("c", 9)], recorded, Room(0, 0), Limits(root_operation=20))
    assert placement.groups == {"a": 0, "b": 2, "c": 0}


def test_service_group_size_caps_every_stack() -> None:
    compiled = compile_stack(stack(services(5), service_group_size=2))
    assert compiled.stacks == ("stack.json", "services-1.json", "services-2.json")
    assert [len(compiled.placement.members(g)) for g in (0, 1, 2)] == [2, 2, 1]


# ---------------------------------------------------------------- compiled output against the quotas


@pytest.mark.parametrize("n", [300, 1000])
def test_every_operation_and_template_stays_inside_the_quotas(n: int) -> None:
    compiled = compile_stack(stack(services(n)))
    assert len(compiled.stacks) > 1, "past one operation"
    for top, size in operation_sizes(compiled).items():
        assert size <= quotas.RESOURCES_PER_OPERATION.limit, top
        if top != "stack.json":
            assert size <= GROUP_FILL, "groups keep room for edits"
    for name, body in compiled.files.items():
        doc = json.loads(body)
        assert len(doc["Resources"]) <= 500 and len(body.encode()) <= quotas.TEMPLATE_BODY_BYTES.limit, name
        assert len(doc.get("Parameters", {})) <= 200 and len(doc.get("Outputs", {})) <= 200, name
    assert sorted(compiled.placement.groups) == sorted(s.name for s in services(n))


def test_two_thousand_services_place_and_warn_of_the_stack_count() -> None:
    compiled = compile_stack(stack(services(2000, "worker")))
    assert max(operation_sizes(compiled).values()) <= 2500
    assert any("'Stack count'" in w and "request an increase" in w for w in compiled.warnings)


def test_a_group_imports_instead_of_getatt_and_keeps_logical_ids() -> None:
    alone = compile_stack(stack(services(3)))
    split = compile_stack(stack(services(3), service_group_size=1))
    group = json.loads(split.files["services-1.json"])
    assert "Fn::GetAtt" not in split.files["services-1.json"]
    assert group["Parameters"]["RootStackName"]["Default"] == "big-prod"
    pins = {k: v for k, v in group["Parameters"].items() if k != "RootStackName"}
    assert "PinnedCluster" in pins and {k[:6] for k in pins} == {"Pinned"} and {v["Default"] for v in pins.values()} == {""}, \
        "issue 21: a pin per export the services import, empty by default (blueprints/group.py)"
    nested = group["Resources"]["S0001Service"]["Properties"]
    root = json.loads(alone.files["stack.json"])["Resources"]["S0001Service"]["Properties"]
    assert nested["TemplateURL"] == root["TemplateURL"], "the same service template"
    assert nested["Parameters"]["StackName"] == {"Ref": "RootStackName"}
    assert nested["Parameters"]["Cluster"] == {"Ref": "PinnedCluster"}, "wiring empty unless pinned: the service imports <root>-Cluster"
    literal = {k: v for k, v in root["Parameters"].items() if not isinstance(v, dict)}
    assert {k: nested["Parameters"][k] for k in literal} == literal


def test_a_stackset_refuses_service_groups() -> None:
    cfg = stack(services(3), service_group_size=1)
    plans = stackset.region_plans(cfg, ["us-east-1"], {})
    with pytest.raises(ConfigError, match="service-group stack.*StackSet deploys one template"):
        compile_stack(cfg, stackset.region_mapping(plans))


def test_a_recorded_group_over_the_quota_is_refused_naming_it() -> None:
    recorded = Placement({s.name: 1 for s in services(300)})
    with pytest.raises(ConfigError, match=r"services-1.json touches is \d+, over the quota 'Resources per nested-stack operation' \(2500"):
        compile_stack(stack(services(300)), recorded=recorded)


# ---------------------------------------------------------------- the placement file


def test_placement_is_recorded_only_when_services_span_stacks(tmp_path: Path) -> None:
    config = tmp_path / "stack.yaml"
    assert record_placement(config, compile_stack(stack(services(3))).placement, Placement()) is None
    assert not placement_path(config).exists()
    split = compile_stack(stack(services(3), service_group_size=2)).placement
    assert record_placement(config, split, Placement()) == tmp_path / "stack.placement.yaml"
    assert read_placement(config).groups == {"s0000": 0, "s0001": 0, "s0002": 1}
    assert record_placement(config, split, read_placement(config)) is None, "unchanged: not written again"


def test_a_foreign_placement_file_is_never_overwritten(tmp_path: Path) -> None:
    config = tmp_path / "stack.yaml"
    placement_path(config).write_text("services: {s0000: 0}\n")
    with pytest.raises(OutputError, match="not written by stack-cfn"):
        record_placement(config, compile_stack(stack(services(3), service_group_size=2)).placement, Placement({"s0000": 0}))
    assert placement_path(config).read_text() == "services: {s0000: 0}\n"


@pytest.mark.parametrize("text,message", [
    ("services: [a, b]\n", "has no mappings 'services'"),
    ("services: {api: -1}\n", "services.api: is -1, not a stack number"),
    ("services: {api: one}\n", "services.api: is 'one', not a stack number"),
    ("services: {api: true}\n", "services.api: is True, not a stack number"),
    ("services: {api: 0\n", "is not valid YAML"),
])
def test_a_broken_placement_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str) -> None:
    config = tmp_path / "stack.yaml"
    config.write_text("name: a\nenvironment: prod\nservices:\n  - {name: api, image: nginx, port: 80}\n")
    placement_path(config).write_text(text)
    code = cli.main(["build", "-c", str(config), "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 1 and len(err.splitlines()) == 1 and message in err and "remove it" in err, err
    assert not (tmp_path / "out").exists()


def test_build_records_placement_and_keeps_it_when_a_service_is_inserted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "stack.yaml"
    lines = ["name: a", "environment: prod", "service_group_size: 2", "services:"] + [f"  - {{name: s{i}, kind: worker, image: busybox}}" for i in range(4)]
    config.write_text("\n".join(lines) + "\n")
    assert cli.main(["build", "-c", str(config), "-o", str(tmp_path / "out")]) == 0
    assert "commit it with the stack file" in capsys.readouterr().err
    first = read_placement(config).groups
    assert first == {"s0": 0, "s1": 0, "s2": 1, "s3": 1}
    lines.insert(4, "  - {name: early, kind: worker, image: busybox}")
    config.write_text("\n".join(lines) + "\n")
    assert cli.main(["build", "-c", str(config), "-o", str(tmp_path / "out")]) == 0
    second = read_placement(config).groups
    assert {k: second[k] for k in first} == first and second["early"] == 2
    assert sorted(p.name for p in (tmp_path / "out").glob("services-*.json")) == ["services-1.json", "services-2.json"]


# ---------------------------------------------------------------- lint slices and determinism


def test_lint_slices_cover_every_service_once_and_keep_what_they_refer_to() -> None:
    from stack_cfn.ship.lint import lint_units

    body = compile_stack(stack(services(60))).files["stack.json"]
    units = [json.loads(u) for u in lint_units(body)]
    assert len(units) > 1
    seen = [k for u in units for k in u["Resources"] if k.startswith("S")]
    assert sorted(seen) == sorted(s.logical_id for s in services(60)), "each service in exactly one slice"
    for u in units:
        assert {"NetworkStack", "ClusterStack", "BastionStack"} <= set(u["Resources"]) and u["Outputs"] == json.loads(body)["Outputs"]


def test_a_finding_in_one_service_of_a_sliced_template_is_reported() -> None:
    from stack_cfn.errors import LintError
    from stack_cfn.ship.lint import lint_templates

    files = dict(compile_stack(stack(services(60))).files)
    root = json.loads(files["stack.json"])
    root["Resources"]["S0042Service"]["Properties"]["TimeoutInMinutes"] = "soon"
    files["stack.json"] = json.dumps(root, indent=1, sort_keys=True)
    with pytest.raises(LintError, match=r"stack.json: E3012 S0042Service"):
        lint_templates(files)


def test_builds_are_byte_identical_across_hash_seeds_and_with_the_cache_on_or_off(tmp_path: Path) -> None:
    import filecmp
    import os
    import subprocess
    import sys

    config = tmp_path / "stack.yaml"
    lines = ["name: a", "environment: prod", "service_group_size: 3", "services:"]
    lines += [f"  - {{name: s{i}, image: team/app{i}, port: {8000 + i}}}" if i % 2 else f"  - {{name: s{i}, kind: worker, image: busybox}}" for i in range(8)]
    config.write_text("\n".join(lines) + "\n")
    runs = {"seed1": {"PYTHONHASHSEED": "1"}, "seed2-nocache": {"PYTHONHASHSEED": "2", "STACK_CFN_NO_LINT_CACHE": "1"}}
    for name, env in runs.items():
        result = subprocess.run([sys.executable, "-m", "stack_cfn.cli", "build", "-c", str(config), "-o", str(tmp_path / name)],
                                env={**os.environ, **env}, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
    match, mismatch, errors = filecmp.cmpfiles(tmp_path / "seed1", tmp_path / "seed2-nocache", sorted(os.listdir(tmp_path / "seed1")), shallow=False)
    assert not mismatch and not errors and "services-2.json" in match
