"""`stack-cfn diff OLD NEW`: what a deploy of NEW over OLD would add, modify, replace and remove, offline.

OLD and NEW are build directories, stack files or `git:REV` (ship/diff_inputs.py); the comparison is
model/changes.py with the create-only properties of cfn-lint's schemas (ship/schemas.py). No AWS credentials,
no network. The exit status is for CI gates (docs/diff.md): 0 when nothing stateful is replaced or removed,
changes or not; 2 when a stateful resource (a database, a bucket, an EIP, a log group, a secret...) would be
replaced, might be replaced, or is removed; 1 for bad input.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from stack_cfn.model.changes import Changes, compare
from stack_cfn.ship.diff_inputs import read_side
from stack_cfn.ship.schemas import SchemaRules

EXIT_SAFE = 0
EXIT_DATA_LOSS = 2


@dataclass(frozen=True)
class DiffRequest:
    old: str  # a build directory, a stack file or git:REV
    new: str
    config: Path  # the stack file a git:REV side reads at that revision
    region: str = "us-east-1"  # whose resource schemas decide replacement


@dataclass(frozen=True)
class DiffResult:
    old_label: str
    new_label: str
    changes: Changes

    @property
    def exit_code(self) -> int:
        return EXIT_DATA_LOSS if self.changes.losses else EXIT_SAFE


def diff(request: DiffRequest) -> DiffResult:
    old = read_side(request.old, request.config, "OLD")
    new = read_side(request.new, request.config, "NEW")
    return DiffResult(old.label, new.label, compare(old.trees, new.trees, SchemaRules(request.region)))
