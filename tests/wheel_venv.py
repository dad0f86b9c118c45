"""A clean virtualenv holding stack-cfn from its wheel: built and filled offline, in seconds.

The wheel is built from a copy of the sources (setuptools' own build/ must not land in the
project's build/). The venv has no pip and no packages of its own: its `pip` runs the project's
pip against it (`pip --python`), with no index and the wheel's directory as the only source, and
its dependencies are the project environment's packages, seen through a `.pth` line that names a
directory of links to every one of them except stack-cfn itself. So `pip install stack-cfn` in it
installs exactly the wheel, and `stack-cfn` there is the wheel's, not the editable checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("setup.py", "pyproject.toml", "README.md", "stack_cfn")


def build_wheel(work: Path) -> Path:
    """`python -m build --wheel` of a copy of the sources, offline (--no-isolation: the dev extra has setuptools)."""
    src = work / "src"
    src.mkdir(parents=True)
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / name, src / name)
    dist = work / "dist"
    result = subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist), str(src)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    (wheel,) = dist.glob("stack_cfn-*.whl")
    return wheel


def clean_venv(path: Path, without: tuple[str, ...] = ()) -> Path:
    """A venv without pip or packages whose `pip` installs from the wheels directory only; returns its bin/.
    `without` leaves out the project's packages of those names (e.g. moto: a venv without the [local] extra)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True, timeout=60)
    (site,) = (path / "lib").glob("python3*/site-packages")
    deps = path / "project-deps"
    deps.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if not _is_stack_cfn(entry.name) and not entry.name.lower().startswith(without or ("\0",)):
            (deps / entry.name).symlink_to(entry)
    (site / "project_deps.pth").write_text(f"{deps}\n")
    pip = path / "bin" / "pip"
    pip.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m pip --python "{path / "bin" / "python"}" "$@"\n')
    pip.chmod(0o755)
    aws = Path(sys.executable).parent / "aws"  # the AWS CLI is the user's own tool, not a dependency
    (path / "bin" / "aws").symlink_to(aws)
    return path / "bin"


def _is_stack_cfn(name: str) -> bool:
    lowered = name.lower().replace("-", "_")
    return lowered.startswith(("stack_cfn", "__editable__.stack_cfn", "__editable___stack_cfn")) or lowered.endswith(".pth")


def venv_env(bindir: Path, wheels: Path) -> dict[str, str]:
    """The environment a shell in the clean venv runs with: its bin/ first, pip offline from `wheels`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "AWS_", "VIRTUAL_ENV", "PYTHON"))}
    env.update(PATH=f"{bindir}{os.pathsep}/usr/bin{os.pathsep}/bin", VIRTUAL_ENV=str(bindir.parent),
               PIP_NO_INDEX="1", PIP_FIND_LINKS=str(wheels), PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_CONFIG_FILE=os.devnull)
    return env
