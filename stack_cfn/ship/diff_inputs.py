"""The two sides of `stack-cfn diff`, read from disk or git: a build directory, a stack file compiled in memory,
or `git:REV` (the stack file, its releases and placement files as they were at a git revision). No AWS."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stack_cfn.errors import ConfigError
from stack_cfn.model.changes import Tree, trees_from_files
from stack_cfn.model.reading import os_problem, read_bounded

TEMPLATE_BYTES = 10 * 1024 * 1024  # CloudFormation takes 1 MB from S3 (quotas); a bound, not a rule
GIT_SECONDS = 60
SIDE_SUFFIXES = (".releases.yaml", ".placement.yaml")  # model/releases.py releases_path, ship/placement_file.py placement_path


@dataclass(frozen=True)
class Side:
    """One side of a diff: its top-level templates' trees, and what it was read from, for the output."""

    label: str
    trees: Mapping[str, Tree]


def read_side(spec: str, config: Path, what: str) -> Side:
    """`what` (OLD, NEW) names the argument in messages; `config` is the stack file a `git:REV` reads at REV."""
    if spec.startswith("git:"):
        return _from_git(spec[4:], config, what)
    path = Path(spec)
    try:
        if path.is_dir():
            return Side(f"{spec}/", trees_from_files(_build_files(path), f"{what} {spec}"))
        if path.is_file():
            return Side(spec, trees_from_files(compiled_files(path), f"{what} {spec}"))
    except OSError as exc:
        raise ConfigError(f"{what} {spec}", os_problem(exc), "give a build directory, a stack file or git:REV") from None
    raise ConfigError(f"{what} {spec}", "is neither a build directory, a stack file nor git:REV",
                      "give a directory written by stack-cfn build, a stack file, or git:REV (the stack file at a git revision)")


def _build_files(directory: Path) -> dict[str, Mapping[str, Any]]:
    files: dict[str, Mapping[str, Any]] = {}
    for path in sorted(directory.glob("*.json")):
        raw = read_bounded(path, TEMPLATE_BYTES, "give a directory written by stack-cfn build")
        try:
            template = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ConfigError(str(path), f"is not a JSON template ({exc})", "give a directory written by stack-cfn build") from None
        if isinstance(template, dict) and isinstance(template.get("Resources"), dict):
            files[path.name] = template
    if not files:
        raise ConfigError(str(directory), "holds no CloudFormation template (*.json with Resources)", "build into it first: stack-cfn build -o DIR")
    return files


def compiled_files(stack_file: Path) -> dict[str, Mapping[str, Any]]:
    """The stack file's templates as `stack-cfn build` would write them (placement file applied), not linted."""
    from stack_cfn.blueprints.compiler import compile_stack
    from stack_cfn.model.loading import load_with_sources
    from stack_cfn.ship.placement_file import read_placement

    cfg, _ = load_with_sources(stack_file)
    compiled = compile_stack(cfg, recorded=read_placement(stack_file))
    return {name: json.loads(body) for name, body in compiled.files.items()}


def _from_git(rev: str, config: Path, what: str) -> Side:
    """The stack file (and its side files, where they existed) at `rev`, written to a temporary directory and compiled."""
    if not rev or rev.startswith("-"):
        raise ConfigError(what, f"git:{rev} names no revision", "give one, such as git:HEAD or git:main")
    where = config.parent if str(config.parent) else Path(".")
    with tempfile.TemporaryDirectory(prefix="stack-cfn-diff-") as tmp:
        copy = Path(tmp) / config.name
        copy.write_bytes(_git_show(where, rev, config.name, what, required=True) or b"")
        for suffix in SIDE_SUFFIXES:
            side = _git_show(where, rev, config.stem + suffix, what, required=False)
            if side is not None:
                (Path(tmp) / (config.stem + suffix)).write_bytes(side)
        try:
            return Side(f"{config} at {rev}", trees_from_files(compiled_files(copy), f"{what} git:{rev}"))
        except ConfigError as exc:  # the message names the temporary copy: name the revision instead
            raise ConfigError(f"{what} git:{rev}", str(exc).replace(f"{tmp}/", ""), "") from None


def _git_show(where: Path, rev: str, name: str, what: str, required: bool) -> bytes | None:
    """`git show REV:./NAME` in the stack file's directory; None for a side file the revision does not have."""
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    try:
        run = subprocess.run(["git", "show", f"{rev}:./{name}"], cwd=where, capture_output=True, timeout=GIT_SECONDS, env=env, check=False)
    except FileNotFoundError:
        raise ConfigError(f"{what} git:{rev}", "needs git, which is not installed", "install git, or give a build directory") from None
    except subprocess.TimeoutExpired:
        raise ConfigError(f"{what} git:{rev}", f"git took more than {GIT_SECONDS} s", "give a build directory instead") from None
    if run.returncode == 0:
        return run.stdout
    if not required:
        return None
    problem = " ".join(run.stderr.decode("utf-8", "replace").split())[:300] or f"git show exited {run.returncode}"
    raise ConfigError(f"{what} git:{rev}", f"{where / name} cannot be read at {rev} ({problem})",
                      "give a revision that has the stack file (git log -- FILE lists them)")
