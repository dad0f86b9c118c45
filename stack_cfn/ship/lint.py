"""cfn-lint as a library: every emitted template must have zero errors and zero warnings."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor

from stack_cfn.errors import LintError

DEFAULT_LINT_REGIONS = ("us-east-1",)
# W3002: nested TemplateURLs are local file names on purpose; `aws cloudformation
# package` and `stack-cfn upload` rewrite them to S3 URLs.
PACKAGE_ONLY_RULES = ("W3002",)


def lint_findings(
    name: str, body: str, regions: Iterable[str] = DEFAULT_LINT_REGIONS, ignore: Iterable[str] = PACKAGE_ONLY_RULES
) -> list[str]:
    """Each finding as `<template>: <rule> <logical id>: <message>`."""
    from cfnlint.api import ManualArgs, lint  # imported late: the import alone takes about a second

    matches = lint(body, config=ManualArgs(regions=list(regions), ignore_checks=list(ignore)))
    findings = []
    for m in matches:
        if m.rule.severity not in ("error", "warning"):
            continue
        path = list(getattr(m, "path", None) or [])
        where = path[1] if len(path) > 1 and path[0] in ("Resources", "Outputs", "Parameters", "Conditions") else "/".join(map(str, path)) or "-"
        findings.append(f"{name}: {m.rule.id} {where}: {m.message}")
    return findings


def _lint_one(item: tuple[str, str]) -> list[str]:
    return lint_findings(*item)


def lint_templates(templates: Mapping[str, str]) -> None:
    """Lint each distinct template body once; raise LintError listing every finding.

    Templates are independent, so with more than one core they are linted in
    parallel processes, forked after cfn-lint is imported so no worker pays
    the import again; largest first, to balance the work.
    """
    distinct: dict[str, str] = {}
    for name, body in templates.items():
        distinct.setdefault(body, name)
    work = sorted(((name, body) for body, name in distinct.items()), key=lambda item: -len(item[1]))
    workers = min(len(work), os.cpu_count() or 1)
    if workers > 1 and "fork" in multiprocessing.get_all_start_methods():
        import cfnlint.api  # noqa: F401  loaded once, inherited by the forked workers

        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork")) as pool:
            results = list(pool.map(_lint_one, work))
    else:
        results = [_lint_one(item) for item in work]
    findings = [f for result in results for f in result]
    if findings:
        raise LintError(sorted(findings))
