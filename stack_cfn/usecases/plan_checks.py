"""What `plan` says besides the change sets (issue 21, item 4): drift on every deployed stack, found before the
change sets are made, and replacement decided from the resource schemas by comparing the deployed templates
with the new ones (the local AWS never reports replacement; a real change set's Replacement is kept too).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from stack_cfn.model.changes import Changes, Tree, compare, trees_from_files
from stack_cfn.ship.drift import DriftReport, detect_drift
from stack_cfn.ship.schemas import SchemaRules

if TYPE_CHECKING:
    from stack_cfn.blueprints.compiler import Compiled
    from stack_cfn.ship.aws import AwsTarget
    from stack_cfn.ship.deployed import DeployedStack

DRIFT_TIMEOUT_SECONDS = 300


@dataclass(frozen=True)
class PlanChecksRequest:
    target: AwsTarget
    stack: str  # the root stack's name
    compiled: Compiled
    region: str  # whose resource schemas decide replacement
    parameters: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # top-level template -> what the deploy passes it
    drift_timeout: float = DRIFT_TIMEOUT_SECONDS


@dataclass(frozen=True)
class PlanChecks:
    deployed: bool  # False: nothing deployed yet, nothing to compare or to drift
    drift: DriftReport
    changes: Changes
    stack_names: Mapping[str, str] = field(default_factory=dict)  # top-level template -> its stack

    def reverted(self, change_sets: Iterable[Any]) -> set[tuple[str, str]]:
        """(top-level stack, resource path) of each drifted resource the deploy modifies or removes: CloudFormation
        writes the template's values, setting the drifted ones back. From the change sets, and from the offline
        comparison where the change set says less (the local AWS)."""
        touched = {(cs.stack_name, c.get("LogicalResourceId", "")) for cs in change_sets for c in getattr(cs, "changes", [])
                   if c.get("Action") in ("Modify", "Remove")}
        return {(d.top, d.resource) for d in self.drift.drifted if (d.top, d.resource) in touched or (d.top, d.resource) in self._offline()}

    def _offline(self) -> set[tuple[str, str]]:
        found = set()
        for t in self.changes.templates:
            top, *nested = t.path.split(" > ")
            for r in t.resources:
                if r.action != "add":
                    found.add((self.stack_names.get(top, top), "/".join([*nested, r.logical_id])))
        return found


def plan_checks(request: PlanChecksRequest, say: Callable[[str], None]) -> PlanChecks:
    """Read what is deployed (templates, parameters), detect drift on it, and compare it with the new build."""
    from stack_cfn.ship.deploy import is_live
    from stack_cfn.ship.deployed import deployed_parameters, read_deployed

    cfn = request.target.client("cloudformation")
    compiled = request.compiled
    old: dict[str, Tree] = {}
    old_parameters: dict[str, Mapping[str, str]] = {}
    stacks: list[DeployedStack] = []
    for top in compiled.stacks:
        name = compiled.stack_name(top, request.stack)
        if not is_live(cfn, name):
            continue
        old[top], found = read_deployed(cfn, name, top)
        old_parameters[top] = deployed_parameters(cfn, name)
        stacks += found
    if not old:
        return PlanChecks(False, DriftReport(), Changes((), 0))
    drift = detect_drift(request.target, stacks, request.drift_timeout, say)
    new = trees_from_files({name: json.loads(body) for name, body in compiled.files.items()}, "the new build")
    new_parameters = {top: {**old_parameters.get(top, {}), **request.parameters.get(top, {})} for top in compiled.stacks}
    names = {top: compiled.stack_name(top, request.stack) for top in compiled.stacks}
    return PlanChecks(True, drift, compare(old, new, SchemaRules(request.region), old_parameters, new_parameters), names)
