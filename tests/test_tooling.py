"""The checks `make test` runs besides the tests (issue 20, item 4): mypy (strict on the model and the blueprints),
vulture for dead code, and no `type: ignore` without its code and a reason."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IGNORE = re.compile(r"#\s*type:\s*ignore(?P<rest>.*)$")
EXPLAINED = re.compile(r"\[[a-z-]+(?:,\s*[a-z-]+)*\]\s+#\s*\S")  # [code]  # reason


def unexplained_ignores(text: str) -> list[int]:
    """Line numbers of `type: ignore` comments without an error code and, after it, a reason."""
    return [n for n, line in enumerate(text.splitlines(), 1) if (m := IGNORE.search(line)) and not EXPLAINED.match(m["rest"].strip())]


def test_the_ignore_check_needs_a_code_and_a_reason() -> None:
    assert unexplained_ignores("x = 1  # type: ignore\ny = 2  # type: ignore[attr-defined]\n") == [1, 2]
    assert unexplained_ignores("z = 3  # type: ignore[attr-defined]  # moto's class, patched\n") == []
    assert unexplained_ignores("w = 4  # type: ignore[misc, assignment]  # a base chosen at run time\n") == []


def test_every_type_ignore_says_which_error_and_why() -> None:
    found = {str(p.relative_to(ROOT)): lines for p in sorted((ROOT / "stack_cfn").rglob("*.py")) if (lines := unexplained_ignores(p.read_text()))}
    assert found == {}, "write # type: ignore[code]  # why it is right here"


def test_make_test_runs_mypy_and_the_dead_code_check() -> None:
    make = (ROOT / "Makefile").read_text()
    targets = {m["name"]: (m["deps"].split(), m["body"]) for m in re.finditer(r"^(?P<name>[a-z]+):(?P<deps>[^\n=]*)\n(?P<body>(?:\t[^\n]*\n)*)", make, re.M)}
    assert {"lint", "typecheck"} <= set(targets["test"][0]), "make test runs make lint and make typecheck"
    assert "vulture stack_cfn" in targets["lint"][1] and "vulture_whitelist.py" in targets["lint"][1]
    assert "ruff check" in targets["lint"][1]
    assert "mypy" in targets["typecheck"][1]
    assert "make test" in (ROOT / ".ci" / "run").read_text(), "CI runs make test"


def test_mypy_is_strict_on_the_model_and_the_blueprints() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    assert config["check_untyped_defs"] and config["warn_unused_ignores"] and "ignore-without-code" in config["enable_error_code"]
    strict = next(o for o in config["overrides"] if "stack_cfn.model.*" in o["module"])
    assert "stack_cfn.blueprints.*" in strict["module"]
    assert all(strict.get(flag) for flag in ("disallow_untyped_defs", "disallow_any_generics", "disallow_untyped_calls", "warn_return_any",
                                             "disallow_incomplete_defs", "no_implicit_reexport", "strict_equality"))
    assert not [o["module"] for o in config["overrides"] if o.get("ignore_errors")], "no module is exempt from type checking"


def test_each_vulture_whitelist_entry_says_why() -> None:
    """An entry is under a comment saying who uses the names, or has its own."""
    lines = (ROOT / "vulture_whitelist.py").read_text().splitlines()
    entries = [i for i, line in enumerate(lines) if line.startswith("_.")]
    assert entries
    for i in entries:
        j = i
        while j > 0 and lines[j - 1].startswith("_."):
            j -= 1
        assert "#" in lines[i] or lines[j - 1].startswith("#"), f"vulture_whitelist.py:{i + 1}: say why {lines[i]} is used"
