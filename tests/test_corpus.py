"""Broken stack files as a user writes them: each gives exactly its one-line error, exit 1, nothing written.

Every file in tests/broken/ starts with `# error: <the exact message>`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from stack_cfn import cli

ROOT = Path(__file__).resolve().parent.parent
CORPUS = sorted((ROOT / "tests" / "broken").glob("*.yaml"))


def expected(path: Path) -> str:
    first = path.read_text(encoding="utf-8").split("\n", 1)[0]
    assert first.startswith("# error: "), f"{path.name} does not start with # error:"
    return first.removeprefix("# error: ")


def test_the_corpus_is_large_and_each_message_distinct() -> None:
    assert len(CORPUS) >= 120
    messages = [expected(p) for p in CORPUS]
    assert len(set(messages)) == len(messages), "two files test the same error"


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_broken_file_gives_its_one_line_error(path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "build"
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        code = cli.main(["build", "-c", str(path.relative_to(ROOT)), "-o", str(out)])
    finally:
        os.chdir(cwd)
    captured = capsys.readouterr()
    assert code == 1
    assert captured.err.splitlines() == [f"error: {expected(path)}"] or captured.err == f"error: {expected(path)}\n", captured.err
    assert captured.out == ""
    assert not out.exists(), "nothing is written"
