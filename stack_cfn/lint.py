"""cfn-lint as a library: every emitted template must have zero errors and zero warnings."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from stack_cfn.errors import LintError

DEFAULT_LINT_REGIONS = ("us-east-1",)
# W3002: nested TemplateURLs are local file names on purpose; `aws cloudformation
# package` and `stack-cfn upload` rewrite them to S3 URLs (and the uploaded root
# is linted again without this exception).
PACKAGE_ONLY_RULES = ("W3002",)


def lint_findings(
    name: str, body: str, regions: Iterable[str] = DEFAULT_LINT_REGIONS, ignore: Iterable[str] = PACKAGE_ONLY_RULES
) -> list[str]:
    """Each finding as `<template>: <rule> <logical id>: <message>`."""
    from cfnlint.api import (  # imported late: the import alone takes about a second
        ManualArgs,
        lint,
    )

    matches = lint(body, config=ManualArgs(regions=list(regions), ignore_checks=list(ignore)))
    findings = []
    for m in matches:
        if m.rule.severity not in ("error", "warning"):
            continue
        path = list(getattr(m, "path", None) or [])
        where = path[1] if len(path) > 1 and path[0] in ("Resources", "Outputs", "Parameters", "Conditions") else "/".join(map(str, path)) or "-"
        findings.append(f"{name}: {m.rule.id} {where}: {m.message}")
    return findings


def lint_templates(templates: Mapping[str, str], regions: Iterable[str] = DEFAULT_LINT_REGIONS) -> None:
    """Lint each distinct template body once; raise LintError listing every finding."""
    seen: set[str] = set()
    findings: list[str] = []
    for name, body in templates.items():
        if body in seen:
            continue
        seen.add(body)
        findings.extend(lint_findings(name, body, regions))
    if findings:
        raise LintError(findings)
