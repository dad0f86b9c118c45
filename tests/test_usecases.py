"""The use cases (stack_cfn/app.py and stack_cfn/usecases/) take a typed request and return a typed result: they never
read argparse, print or ask (cli.py does), so a pipeline, a test or another front end can call them."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from stack_cfn.app import StackFile
from stack_cfn.usecases import files
from tests.progress import Recorder

ROOT = Path(__file__).resolve().parent.parent
USE_CASES = sorted([ROOT / "stack_cfn" / "app.py", *(ROOT / "stack_cfn" / "usecases").glob("*.py")])
STREAMS = {"stdin", "stdout", "stderr", "__stdin__", "__stdout__", "__stderr__"}


def terminal_uses(source: str) -> list[str]:
    """What in a module's source reads flags or talks to the terminal itself: argparse, print(), input(), sys's streams."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [f"import {a.name}" for a in node.names if a.name.split(".")[0] == "argparse"]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "argparse":
            found.append(f"from {node.module} import ...")
        elif isinstance(node, ast.ImportFrom) and node.module == "sys":
            found += [f"from sys import {a.name}" for a in node.names if a.name in STREAMS]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("print", "input", "breakpoint"):
            found.append(f"{node.func.id}()")
        elif isinstance(node, ast.Attribute) and node.attr in STREAMS and isinstance(node.value, ast.Name) and node.value.id == "sys":
            found.append(f"sys.{node.attr}")
        elif isinstance(node, ast.Attribute) and node.attr == "Namespace":
            found.append("argparse.Namespace")
    return found


def test_the_check_sees_each_way_of_reaching_the_terminal() -> None:
    source = ("import argparse\nfrom argparse import Namespace\nfrom sys import stdin\nimport sys\n"
              "def f(a: argparse.Namespace) -> None:\n    print(a)\n    input('?')\n    sys.stdout.write('x')\n")
    assert sorted(terminal_uses(source)) == sorted(["import argparse", "from argparse import ...", "from sys import stdin", "argparse.Namespace",
                                                    "print()", "input()", "sys.stdout"])
    assert terminal_uses("import json\nx = json.dumps({})\n") == []


@pytest.mark.parametrize("path", USE_CASES, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_use_case_neither_parses_flags_nor_prints_nor_asks(path: Path) -> None:
    """The CLI parses the flags into the request, renders the result and does the prompting (issue 20, item 3)."""
    assert terminal_uses(path.read_text()) == [], f"{path.name}: leave these to cli.py"


def test_build_returns_what_it_wrote(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = Recorder()
    result = files.build(files.BuildRequest(StackFile(str(ROOT / "stack.yaml"), given=True), str(tmp_path / "b")), out)
    assert isinstance(result, files.BuildResult)
    assert result.root == "stack.json" and result.count == len([p for p in (tmp_path / "b").iterdir() if p.suffix == ".json"])
    assert "compiling and linting the templates" in out.steps
    assert capsys.readouterr() == ("", ""), "the use case printed nothing: its result is the CLI's to render"


def test_schema_and_check_return_their_results(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    schema = files.schema(files.SchemaRequest(str(tmp_path / "s.json")), Recorder())
    assert isinstance(schema, files.SchemaResult) and json.loads(schema.path.read_text())["type"] == "object"
    config = tmp_path / "stack.yaml"
    config.write_text("name: my-app\nenvironment: prod\nregion: eu-west-1\n")
    checked = files.check(files.CheckRequest(StackFile(str(config), given=True), ("eu-west-1", "eu-central-1")), Recorder())
    assert checked == files.CheckResult(str(config), ("eu-west-1", "eu-central-1"))
    assert files.check(files.CheckRequest(StackFile(str(config), given=True)), Recorder()).regions == ("eu-west-1",), "the stack file's region"
    assert capsys.readouterr() == ("", "")


def test_diagram_to_standard_output_is_text_for_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = files.diagram(files.DiagramRequest(StackFile(str(ROOT / "stack.yaml"), given=True), "-"), Recorder())
    assert isinstance(result, files.DiagramResult) and result.written is None and result.text.startswith("```mermaid")
    assert capsys.readouterr() == ("", ""), "the CLI writes the text, not the use case"


def test_destroy_asks_through_the_callback_the_cli_supplies() -> None:
    """With nobody to ask (no terminal: the CLI passes no callback) and no --yes, destroy refuses before reaching AWS."""
    from stack_cfn.app import AwsOptions
    from stack_cfn.errors import DeployError
    from stack_cfn.usecases.destroy import DestroyRequest, destroy

    request = DestroyRequest(StackFile(str(ROOT / "stack.yaml"), given=True), AwsOptions(region="us-east-1"), yes=False, confirm=None)
    with pytest.raises(DeployError, match="needs confirmation: run it in a terminal, or pass --yes"):
        destroy(request, Recorder())
