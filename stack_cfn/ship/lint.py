"""cfn-lint as a library: every emitted template must have zero errors and zero warnings.

Each distinct template body is linted once, and its findings are cached on disk keyed by
(template content, cfn-lint version, regions, ignored rules): a template already linted is never
linted again, and a build whose templates are all cached does not even import cfn-lint. The rules
are loaded once per build (one cfn-lint Runner); several uncached templates are linted in forked
processes that inherit it.

A template of many independent nested stacks (a root or service group of hundreds of services) is
linted in slices: each slice is the whole template but with only some of the nested stacks that
nothing references (services), chosen by a hash of their logical ids. Every resource is linted in
a template that holds everything it refers to; the slices keep cfn-lint linear in the number of
services (it rebuilds its GetAtt table per Fn::GetAtt, quadratic over one root), and an edit to
one service relints one slice. Cross-service rules cannot fire: services do not refer to each other,
and quotas are checked by the compiler over the whole template.

The cache lives in $STACK_CFN_CACHE_DIR, else $XDG_CACHE_HOME/stack-cfn, else ~/.cache/stack-cfn;
it is safe to delete. STACK_CFN_NO_LINT_CACHE=1 turns it off.
"""

from __future__ import annotations

import gc
import hashlib
import importlib.metadata
import json
import multiprocessing
import os
import stat
import sys
import tempfile
import zlib
from collections.abc import Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from stack_cfn.errors import LintError

DEFAULT_LINT_REGIONS = ("us-east-1",)
# W3002: nested TemplateURLs are local file names on purpose; `aws cloudformation package` and
# `stack-cfn upload` rewrite them to S3 URLs. The root declares this in its own Metadata too.
PACKAGE_ONLY_RULES = ("W3002",)

_RUNNERS: dict[tuple[tuple[str, ...], tuple[str, ...]], Any] = {}


_CACHE: dict[Path | None, Path | None] = {}  # configured directory -> the one used (checked, and any note said, once)


def cache_dir() -> Path | None:
    """The lint cache: $STACK_CFN_CACHE_DIR, else $XDG_CACHE_HOME/stack-cfn, else $HOME/.cache/stack-cfn (each only when
    set and absolute). Without HOME, or where the directory cannot be made and written, a temporary cache of this user
    (<tmp>/stack-cfn-<uid>/lint) is used instead, with a one-line note on stderr."""
    if os.environ.get("STACK_CFN_NO_LINT_CACHE"):
        return None
    chosen = _configured_cache()
    if chosen not in _CACHE:
        _CACHE[chosen] = _choose_cache(chosen)
    return _CACHE[chosen]


def _choose_cache(chosen: Path | None) -> Path | None:
    if chosen is not None and _usable(chosen):
        return chosen
    fallback = Path(tempfile.gettempdir()) / f"stack-cfn-{os.getuid() if hasattr(os, 'getuid') else 'user'}" / "lint"
    why = "HOME is not set" if chosen is None else f"{chosen} cannot be written"
    if not _usable(fallback, private=True):
        _note(f"note: {why} and {fallback} cannot be used either: linting without a cache (set STACK_CFN_CACHE_DIR)")
        return None
    _note(f"note: {why}: the lint cache is {fallback} (set STACK_CFN_CACHE_DIR to choose one)")
    return fallback


def _configured_cache() -> Path | None:
    for variable, tail in (("STACK_CFN_CACHE_DIR", ()), ("XDG_CACHE_HOME", ("stack-cfn",)), ("HOME", (".cache", "stack-cfn"))):
        value = os.environ.get(variable, "")
        if value and os.path.isabs(value):
            return Path(value, *tail, "lint")
    return None


def _usable(directory: Path, private: bool = False) -> bool:
    """The directory exists or can be made, and is a writable directory (of this user, for a shared temporary one)."""
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        if private and hasattr(os, "getuid"):
            info = directory.parent.lstat()
            if info.st_uid != os.getuid() or not stat.S_ISDIR(info.st_mode):
                return False
        return directory.is_dir() and os.access(directory, os.W_OK | os.X_OK)
    except OSError:
        return False


def _note(message: str) -> None:
    try:
        sys.stderr.write(message + "\n")
    except (OSError, ValueError):
        pass


def cache_key(body: str, regions: Iterable[str], ignore: Iterable[str]) -> str:
    blob = json.dumps([body, importlib.metadata.version("cfn-lint"), sorted(regions), sorted(ignore)])
    return hashlib.sha256(blob.encode()).hexdigest()


def _runner(regions: tuple[str, ...], ignore: tuple[str, ...]) -> Any:
    """One cfn-lint Runner (its rules loaded once) per configuration, for the life of the process."""
    key = (regions, ignore)
    if key not in _RUNNERS:
        from cfnlint.config import ConfigMixIn  # imported late: the import alone takes about a second
        from cfnlint.runner import Runner

        _RUNNERS[key] = Runner(ConfigMixIn(regions=list(regions), ignore_checks=list(ignore)))
    return _RUNNERS[key]


def lint_findings(name: str, body: str, regions: Iterable[str] = DEFAULT_LINT_REGIONS, ignore: Iterable[str] = PACKAGE_ONLY_RULES) -> list[str]:
    """Each finding as `<template>: <rule> <logical id>: <message>`."""
    return [f"{name}: {finding}" for finding in _findings(body, tuple(regions), tuple(ignore))]


def _findings(body: str, regions: tuple[str, ...], ignore: tuple[str, ...]) -> list[str]:
    """Each finding as `<rule> <logical id>: <message>` (what the cache keeps)."""
    from cfnlint.decode.decode import decode_str

    template, errors = decode_str(body)
    matches = errors or (list(_runner(regions, ignore).validate_template(template)) if template else [])
    findings = []
    for m in matches:
        if m.rule.severity not in ("error", "warning"):
            continue
        path = list(getattr(m, "path", None) or [])
        where = path[1] if len(path) > 1 and path[0] in ("Resources", "Outputs", "Parameters", "Conditions") else "/".join(map(str, path)) or "-"
        findings.append(f"{m.rule.id} {where}: {m.message}")
    return findings


def load_rules() -> None:
    """Import cfn-lint and load its rules for the build's configuration, once per process."""
    _runner(DEFAULT_LINT_REGIONS, PACKAGE_ONLY_RULES)


def unit_findings(body: str) -> list[str]:
    """The findings of one template body (or slice) under the build's configuration."""
    return _findings(body, DEFAULT_LINT_REGIONS, PACKAGE_ONLY_RULES)


def _cached(directory: Path | None, key: str) -> list[str] | None:
    if directory is None:
        return None
    try:
        return list(json.loads((directory / f"{key}.json").read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def _remember(directory: Path | None, key: str, findings: list[str]) -> None:
    if directory is None:
        return
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{key}.", dir=directory)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(findings, f)
        os.replace(tmp, directory / f"{key}.json")
    except OSError:
        pass  # a cache that cannot be written only costs time


def _lint_all(work: list[str]) -> list[list[str]]:
    workers = min(len(work), os.cpu_count() or 1)
    if workers > 1 and "fork" in multiprocessing.get_all_start_methods():
        load_rules()  # loaded once, inherited by the forked workers
        gc.freeze()  # the workers' collector leaves the inherited objects alone, and so their pages stay shared
        try:
            with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork")) as pool:
                return list(pool.map(unit_findings, work))
        finally:
            gc.unfreeze()  # this process goes on collecting as before
    return [unit_findings(item) for item in work]


SLICE = 5  # independent nested stacks per lint slice
SLICE_FROM = 2 * SLICE  # templates with fewer independent nested stacks are linted whole


def lint_units(body: str) -> list[str]:
    """The body itself, or (many independent nested stacks) its slices, each a complete template."""
    if body.count('"AWS::CloudFormation::Stack"') < SLICE_FROM:
        return [body]
    doc = json.loads(body)
    resources = doc.get("Resources", {})
    referenced = _referenced(doc)
    free = sorted(k for k, r in resources.items() if r.get("Type") == "AWS::CloudFormation::Stack" and k not in referenced)
    if len(free) < SLICE_FROM:
        return [body]
    fixed = {k: r for k, r in resources.items() if k not in set(free)}
    count = -(-len(free) // SLICE)
    slices: list[dict[str, Any]] = [dict(fixed) for _ in range(count)]
    for key in free:
        slices[zlib.crc32(key.encode()) % count][key] = resources[key]
    return [json.dumps({**doc, "Resources": part}, sort_keys=True) for part in slices if len(part) > len(fixed)]


def _referenced(node: Any) -> set[str]:
    """Logical ids some Ref, Fn::GetAtt or DependsOn names."""
    found: set[str] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if key == "Ref" and isinstance(value, str):
                    found.add(value)
                elif key == "Fn::GetAtt" and isinstance(value, list) and value:
                    found.add(str(value[0]))
                elif key == "DependsOn":
                    found.update([value] if isinstance(value, str) else value)
                stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)
    return found


def lint_templates(templates: Mapping[str, str]) -> None:
    """Lint each distinct template body (or slice) once, or not at all when cached; raise LintError listing every finding.

    A whole template whose slices were all linted is remembered under its own key too, so an unchanged
    many-service template is not even sliced again."""
    directory = cache_dir()
    whole = {body: name for name, body in templates.items()}
    whole_keys = {body: cache_key(body, DEFAULT_LINT_REGIONS, PACKAGE_ONLY_RULES) for body in whole}
    known = {body: _cached(directory, whole_keys[body]) for body in whole}
    distinct: dict[str, str] = {}
    parts: dict[str, list[str]] = {}
    for body, name in whole.items():
        if known[body] is None:
            parts[body] = lint_units(body)
            for unit in parts[body]:
                distinct.setdefault(unit, name)
    keys = {unit: whole_keys.get(unit) or cache_key(unit, DEFAULT_LINT_REGIONS, PACKAGE_ONLY_RULES) for unit in distinct}
    results = {unit: _cached(directory, keys[unit]) for unit in distinct}
    work = sorted((unit for unit in distinct if results[unit] is None), key=len, reverse=True)  # largest first, to balance
    for unit, found in zip(work, _lint_all(work) if work else [], strict=True):
        results[unit] = found
        _remember(directory, keys[unit], found)
    for body, units in parts.items():
        combined = sorted({f for unit in units for f in results[unit] or []})
        known[body] = combined
        if len(units) > 1:
            _remember(directory, whole_keys[body], combined)
    findings = [f"{whole[body]}: {f}" for body, found in known.items() for f in found or []]
    if findings:
        raise LintError(sorted(findings))
