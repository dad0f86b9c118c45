"""No silent precedence between the stack file and the files stack-cfn writes beside it (issue 19, item 1)."""

from __future__ import annotations

from pathlib import Path

from stack_cfn import cli
from stack_cfn.blueprints.compiler import compile_stack
from stack_cfn.model.config import ServiceConfig, StackConfig
from stack_cfn.model.placement import Placement
from stack_cfn.ship.placement_file import placement_path, precedence_notes


def _stack(n: int, **kw: object) -> StackConfig:
    return StackConfig(name="p", environment="prod", services=tuple(ServiceConfig(name=f"w{i}", image="busybox", kind="worker") for i in range(n)), **kw)


def test_a_placement_file_that_outweighs_service_group_size_says_so() -> None:
    recorded = Placement({f"w{i}": 0 for i in range(3)})
    cfg = _stack(3, service_group_size=2)
    placement = compile_stack(cfg, recorded=recorded).placement
    assert placement.members(0) == ["w0", "w1", "w2"], "recorded services stay (moving one replaces it)"
    notes = precedence_notes(Path("stack.placement.yaml"), placement, recorded, 2)
    assert len(notes) == 1 and "keeps 3 services in the root, more than service_group_size 2" in notes[0]
    assert precedence_notes(Path("stack.placement.yaml"), placement, recorded, None) == []
    fresh = compile_stack(cfg).placement
    assert precedence_notes(Path("stack.placement.yaml"), fresh, Placement(), 2) == []


def test_build_warns_when_the_placement_file_wins(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    config = tmp_path / "stack.yaml"
    config.write_text("name: p\nenvironment: prod\nservices:\n" + "".join(f"  - {{name: w{i}, kind: worker, image: busybox}}\n" for i in range(3)))
    placement_path(config).write_text("# Written by stack-cfn: the stack that holds each service\nservices: {w0: 0, w1: 0, w2: 0}\nload_balancers: {}\n")
    config.write_text(config.read_text() + "service_group_size: 2\n")
    assert cli.main(["build", "-c", str(config), "-o", str(tmp_path / "build")]) == 0
    assert "stack.placement.yaml keeps 3 services in the root" in capsys.readouterr().err
