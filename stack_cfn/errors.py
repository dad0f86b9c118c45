"""Errors the user can act on: each names the field at fault and the fix."""

from __future__ import annotations


class StackCfnError(Exception):
    """Base for every error stack-cfn reports to a user as one line."""


class ConfigError(StackCfnError):
    """A stack description (YAML or Python) that cannot be compiled."""

    def __init__(self, field: str, problem: str, fix: str = "") -> None:
        self.field = field
        self.problem = problem
        self.fix = fix
        text = f"{field}: {problem}"
        if fix:
            text += f"; {fix}"
        super().__init__(text)


class LintError(StackCfnError):
    """cfn-lint found errors or warnings in an emitted template."""

    def __init__(self, findings: list[str]) -> None:
        self.findings = findings
        super().__init__(
            f"cfn-lint found {len(findings)} problem(s):\n" + "\n".join(findings)
        )


class DeployError(StackCfnError):
    """A deployment step failed; the message says what to do next."""
