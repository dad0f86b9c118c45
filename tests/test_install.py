"""Install like a Python tool: a wheel that installs into a clean venv, extras, --version, and one line for a missing extra."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import stack_cfn
from stack_cfn import cli
from tests.wheel_venv import ROOT, build_wheel, clean_venv, venv_env


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.fixture(scope="module")
def wheel_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    work = tmp_path_factory.mktemp("venv")
    yield work, venv_env(clean_venv(work / "venv"), wheel.parent)


def sh(script: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-euo", "pipefail", "-c", script], env=env, cwd=cwd, capture_output=True, text=True, timeout=600)


@pytest.mark.install
def test_the_wheel_installs_the_command_and_the_compiler(wheel_venv: tuple[Path, dict[str, str]]) -> None:
    work, env = wheel_venv
    result = sh("pip install stack-cfn && stack-cfn --version && python -c 'import stack_cfn; print(stack_cfn.__file__)'", env, work)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"stack-cfn {stack_cfn.__version__}" in result.stdout
    assert str(work / "venv") in result.stdout.splitlines()[-1], "the venv's own copy, not the checkout"
    (work / "proj").mkdir()
    (work / "proj" / "stack.yaml").write_text((ROOT / "stack.yaml").read_text())
    built = sh("stack-cfn build -c stack.yaml -o build && stack-cfn templates -o templates", env, work / "proj")
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    assert (work / "proj" / "build" / "stack.json").is_file() and (work / "proj" / "templates" / "service.json").is_file()


@pytest.mark.install
def test_the_wheel_declares_the_local_extra_and_its_version(wheel_venv: tuple[Path, dict[str, str]]) -> None:
    work, env = wheel_venv
    meta = sh("pip install -q stack-cfn && python -c 'import importlib.metadata as m; d = m.distribution(\"stack-cfn\"); print(d.version); print(*d.requires, sep=chr(10))'",
              env, work)
    assert meta.returncode == 0, meta.stderr[-2000:]
    version, *requires = meta.stdout.splitlines()
    assert version == stack_cfn.__version__
    assert any(r.startswith("moto[server]") and 'extra == "local"' in r for r in requires), requires
    assert not any(r.startswith("moto") and "extra" not in r for r in requires), "moto is an extra, not a dependency"


@pytest.mark.install
def test_without_the_local_extra_the_compiler_works_and_up_local_names_the_extra(wheel: Path, tmp_path: Path) -> None:
    """`pip install stack-cfn` alone: no moto. build works; up --local is one line naming the extra, nothing else."""
    env = venv_env(clean_venv(tmp_path / "venv", without=("moto",)), wheel.parent)
    (tmp_path / "stack.yaml").write_text((ROOT / "stack.yaml").read_text())
    assert sh("pip install -q stack-cfn && stack-cfn build -o build", env, tmp_path).returncode == 0
    assert sh("python -c 'import moto'", env, tmp_path).returncode != 0, "the venv has no moto"
    up = sh("stack-cfn up --local", env, tmp_path)
    assert up.returncode == 1 and up.stderr.strip().splitlines() == [up.stderr.strip()], up.stderr
    assert "pip install 'stack-cfn[local]'" in up.stderr and "internal error" not in up.stderr


def test_version_is_the_packages() -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0
    assert re.fullmatch(r"\d+\.\d+\.\d+", stack_cfn.__version__)
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert "## [Unreleased]" in changelog and f"## [{stack_cfn.__version__}]" in changelog, "the changelog names the current version"


def test_a_missing_local_extra_is_one_line_naming_it(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """`pip install stack-cfn` has no moto: `up --local` says what to install, before any work."""
    monkeypatch.setitem(sys.modules, "moto.server", None)  # import moto.server now raises ModuleNotFoundError
    assert cli.main(["up", "--local", "-c", str(ROOT / "stack.yaml")]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert "pip install 'stack-cfn[local]'" in err and "internal error" not in err
