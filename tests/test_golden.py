"""The example stack's compiled templates, byte for byte (regenerate with `make golden`, review the diff)."""

from __future__ import annotations

from pathlib import Path

from stack_cfn.blueprints.compiler import compile_stack
from stack_cfn.model.loading import load_config
from stack_cfn.ship.files import MANIFEST

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"


def test_example_stack_compiles_to_the_golden_templates() -> None:
    compiled = compile_stack(load_config(ROOT / "stack.yaml")).files
    on_disk = {p.name: p.read_text(encoding="utf-8") for p in GOLDEN.iterdir() if p.name != MANIFEST}
    assert sorted(on_disk) == sorted(compiled), "a template was added or removed: run make golden and review"
    changed = sorted(name for name in compiled if compiled[name] != on_disk[name])
    assert not changed, f"{changed} differ from tests/golden: run make golden and review the diff"


def test_golden_manifest_lists_exactly_the_golden_files() -> None:
    listed = (GOLDEN / MANIFEST).read_text().splitlines()
    assert listed == sorted(p.name for p in GOLDEN.iterdir() if p.name != MANIFEST)
