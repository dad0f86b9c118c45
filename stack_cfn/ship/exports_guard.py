"""Export safety (issue 21, item 6): before a deploy, the exports of our stacks that another stack imports and that the
new templates would remove or change. CloudFormation refuses such an update only late, mid-deploy ("Cannot update export
... as it is in use by ..."; "Export ... cannot be deleted as it is in use by ...": CloudFormation User Guide, Exporting
stack output values, "you can't modify or remove an output value that is referenced by another stack").

Who imports decides what happens:
- a stack not ours (a drop-in stack, another team's): refused, one line per export, with the two-phase fix to run by hand;
- our own service groups: the deploy runs in two phases (plan_phases): first the groups that import it stop importing
  (their `Pinned<Export>` parameter, blueprints/group.py, set to the export's current value from ListExports, on their
  deployed template when it declares the pins: on_deployed_template), then the
  root, then the groups again with the imports (their pins empty). Any phase interrupted leaves stacks the next plain
  deploy converges: pinned groups import nothing, so that deploy needs no first phase for them;
- a group being deleted (stale) goes before the root anyway: its imports do not count;
- an export the root removes while a group's NEW template still imports it cannot be deployed at all: refused. The
  compiler derives the groups' wiring and the root's exports from the same contract rows, so this takes a template
  the compiler did not make; it is checked all the same (refusal_removed).

When does an export change? A value known only after the deploy cannot be compared before it, so (value_moves):
- its Output or its Export is gone ("removed"), or its Value expression differs ("redefined");
- the expression is the same but reads (Ref, Fn::GetAtt) a resource the update replaces, decided offline from the
  resource schemas' create-only properties as `diff` and `plan` do (model/changes.py, ship/schemas.py): "replaced";
  conditional replacement counts too;
- the expression is the same but reads a parameter whose value changes: a top-level stack's parameter value, or a
  nested stack's whose expression in the parent changes or itself reads something that changes: "its input changed".
Conservative the other way round: any expression change counts, even one that provably keeps the value (such as
wrapping it in a Fn::Join of one part); such a deploy runs two phases (or is refused) when it did not need to.

changes, value_moves, plan_phases and the refusals are pure; the rest reads CloudFormation and the compiled templates.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from stack_cfn.model.changes import Changes, Tree
from stack_cfn.model.template_values import Context, reads

if TYPE_CHECKING:
    from stack_cfn.ship.aws import AwsTarget

NESTED_STACK = "AWS::CloudFormation::Stack"


@dataclass(frozen=True)
class Exported:
    """A deployed export: the stack (path from the top-level stack: `app-prod/NetworkStack`), its Output, the export's name and the Output's Value expression."""

    path: str
    output: str
    name: str
    definition: Any


@dataclass(frozen=True)
class ExportChange:
    name: str
    path: str
    output: str
    how: str  # "removed", "redefined", "replaced" or "its input changed"


def changes(deployed: list[Exported], new: Mapping[str, Mapping[str, Any]],
            moved: Mapping[tuple[str, str], str] | None = None) -> list[ExportChange]:
    """The deployed exports the new templates remove or change: a nested stack gone takes its exports with it; a
    top-level stack the new templates do not describe is left out; `moved` (value_moves): (path, output) -> how the
    value of an unchanged expression changes."""
    found = []
    described = {path.split("/")[0] for path in new}
    for e in deployed:
        if e.path.split("/")[0] not in described:
            continue
        output = new.get(e.path, {}).get(e.output)
        if not isinstance(output, dict) or "Export" not in output:
            found.append(ExportChange(e.name, e.path, e.output, "removed"))
        elif output.get("Value") != e.definition:
            found.append(ExportChange(e.name, e.path, e.output, "redefined"))
        elif (how := (moved or {}).get((e.path, e.output))):
            found.append(ExportChange(e.name, e.path, e.output, how))
    return found


# ---------------------------------------------------------------- values that change under the same expression


@dataclass(frozen=True)
class Side:
    """One side (deployed or new) of a top-level stack's tree: each stack by path (`app-prod/ClusterStack`), the
    parameter values the top-level stack is given, and the resources the update replaces there (on the new side)."""

    trees: Mapping[str, Tree]  # path -> its tree
    given: Mapping[str, Any] = field(default_factory=dict)  # the top-level stacks' parameter values, by path


def flatten(top: str, tree: Tree) -> dict[str, Tree]:
    """Every stack of a tree by its path from the top-level stack's name."""
    found = {top: tree}
    for logical_id, child in tree.nested.items():
        found.update(flatten(f"{top}/{logical_id}", child))
    return found


def replaced_by_path(found: Changes, stack_of: Mapping[str, str]) -> dict[str, set[str]]:
    """The logical ids each stack's update replaces (or may replace), by path; `stack_of`: top-level file -> stack."""
    replaced: dict[str, set[str]] = {}
    for t in found.templates:
        top, *nested = t.path.split(" > ")
        path = "/".join([stack_of.get(top, top), *nested])
        replaced.setdefault(path, set()).update(r.logical_id for r in t.resources if r.action == "modify" and r.replacement != "never")
    return replaced


def value_moves(old: Side, new: Side, replaced: Mapping[str, set[str]]) -> dict[tuple[str, str], str]:
    """(path, output) -> how, for each exported Output whose Value expression stays but whose value changes."""
    moves = {}
    for path, tree in new.trees.items():
        before = old.trees.get(path)
        if before is None:
            continue
        old_outputs = before.template.get("Outputs") or {}
        for name, output in (tree.template.get("Outputs") or {}).items():
            if isinstance(output, dict) and "Export" in output and (old_outputs.get(name) or {}).get("Value") == output.get("Value"):
                how = _moves(path, output.get("Value"), old, new, replaced, 0)
                if how:
                    moves[(path, name)] = how
    return moves


def _moves(path: str, value: Any, old: Side, new: Side, replaced: Mapping[str, set[str]], depth: int) -> str:
    """How a value read in the stack at `path` changes with the same expression: "replaced", "its input changed" or ""."""
    tree = new.trees[path]
    if depth > 10 or path not in old.trees:
        return ""
    for name, attribute in sorted(set(reads(value))):
        if name in replaced.get(path, set()):
            return "replaced"
        resource = (tree.template.get("Resources") or {}).get(name)
        if name in (tree.template.get("Parameters") or {}) and _input_moves(path, name, old, new, replaced, depth):
            return "its input changed"
        if isinstance(resource, dict) and attribute.startswith("Outputs.") and f"{path}/{name}" in old.trees:
            child, output = f"{path}/{name}", attribute.split(".", 1)[1]
            before = ((old.trees[child].template.get("Outputs") or {}).get(output) or {}).get("Value")
            after = ((new.trees[child].template.get("Outputs") or {}).get(output) or {}).get("Value")
            if before != after or _moves(child, after, old, new, replaced, depth + 1):
                return "its input changed"
    return ""


def _input_moves(path: str, parameter: str, old: Side, new: Side, replaced: Mapping[str, set[str]], depth: int) -> bool:
    """Whether a stack's parameter gets another value: a top-level stack's given value (else its Default), or the
    expression its parent passes, changed or itself reading what changes."""
    parent, _, logical_id = path.rpartition("/")
    if not parent:
        before = Context.of(old.trees[path].template, old.given.get(path, {})).parameters.get(parameter)
        after = Context.of(new.trees[path].template, new.given.get(path, {})).parameters.get(parameter)
        return bool(before != after)
    if parent not in old.trees:
        return False
    before = _passed(old.trees[parent], logical_id, parameter)
    after = _passed(new.trees[parent], logical_id, parameter)
    return before != after or bool(_moves(parent, after, old, new, replaced, depth + 1))


def _passed(parent: Tree, logical_id: str, parameter: str) -> Any:
    """The expression a parent passes a nested stack for one parameter (None: not passed, its Default)."""
    resource = (parent.template.get("Resources") or {}).get(logical_id) or {}
    return ((resource.get("Properties") or {}).get("Parameters") or {}).get(parameter)


# ---------------------------------------------------------------- the imports a new template makes


def imports_of(files: Mapping[str, str], filename: str, given: Mapping[str, Any]) -> set[str]:
    """The export names a new top-level template and its nested templates import, given its parameter values (a
    group's pins decide which of its services import): each Fn::ImportValue whose name is known offline."""
    template = _template(files[filename])
    context = Context.of(template, given)
    found: set[str] = set()
    for resource in (template.get("Resources") or {}).values():
        if not isinstance(resource, dict) or context.condition(resource.get("Condition")) is False:
            continue
        resolved = context.resolve(resource)
        found |= set(_imported_names(resolved))
        url = (resolved.get("Properties") or {}).get("TemplateURL") if resource.get("Type") == NESTED_STACK else None
        if isinstance(url, str) and url in files:
            found |= imports_of(files, url, (resolved.get("Properties") or {}).get("Parameters") or {})
    return found


def _imported_names(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Fn::ImportValue" and isinstance(inner, str):
                yield inner
            else:
                yield from _imported_names(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _imported_names(inner)


# ---------------------------------------------------------------- the phases


@dataclass(frozen=True)
class ExportPlan:
    """What the deploy does about changed exports: refused (one line each), or a first phase where our groups that
    import them stop importing (group stack -> its pins: parameter -> the export's current value)."""

    refused: tuple[str, ...] = ()
    first: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    pinned: tuple[ExportChange, ...] = ()  # the changed exports our groups import: why the first phase runs

    @property
    def two_phases(self) -> bool:
        return bool(self.first)

    def describe(self, root: str) -> str:
        """One line: why the deploy takes two phases."""
        exports = ", ".join(f"{c.name} ({c.how})" for c in self.pinned)
        return (f"two phases: {root} changes export(s) its service groups import ({exports}): first {', '.join(self.first)} "
                f"stop importing them (pinned to their current values), then {root}, then the groups import again")


@dataclass(frozen=True)
class Importers:
    """Who imports each changed export, each importer named by its top-level stack (a group's nested service stack by
    the group), and which top-level stacks are ours: the root, the groups of the new build, the stale groups."""

    by_export: Mapping[str, Sequence[str]]  # export -> the top-level stacks importing it
    root: str
    groups: Mapping[str, str]  # group stack -> its new template file
    stale: frozenset[str] = frozenset()


def plan_phases(found: Sequence[ExportChange], who: Importers, values: Mapping[str, str],
                new_imports: Mapping[str, set[str]]) -> ExportPlan:
    """Refusals for foreign importers and for removals a new group template still needs; else the first phase's pins.
    `values`: the current value of each export; `new_imports`: group stack -> what its new template imports unpinned."""
    refused: list[str] = []
    first: dict[str, dict[str, str]] = {}
    pinned: list[ExportChange] = []
    for change in found:
        importing = sorted(set(who.by_export.get(change.name, ())) - who.stale - {who.root})
        foreign = [s for s in importing if s not in who.groups]
        if foreign:
            refused.append(refusal(change, foreign))
        needing = sorted(g for g in who.groups if change.name in new_imports.get(g, set()))
        if change.how == "removed" and needing:
            refused.append(refusal_removed(change, needing))
        ours = [g for g in importing if g in who.groups]
        if ours and not foreign:
            pinned.append(change)
            for group in ours:  # pinned where it imports now (its deployed template), whatever its new template does
                pins = first.setdefault(group, {})
                if change.name not in values:
                    refused.append(f"export {change.name}: its current value could not be read (ListExports) to pin {group} to it; "
                                   "deploy again, or deploy with the export unchanged first")
                else:
                    pins[pin_parameter(change.name, who.root)] = values[change.name]
    if refused:
        return ExportPlan(tuple(refused))
    return ExportPlan((), first, tuple(pinned))


def pin_parameter(export: str, root: str) -> str:
    """The group parameter that pins an export of the root: `Pinned<suffix>` (blueprints/group.py)."""
    from stack_cfn.blueprints.group import ServiceGroup

    return ServiceGroup.Pinned.keyed(export.removeprefix(f"{root}-")).name


def unpinned(files: Mapping[str, str], group_file: str) -> dict[str, str]:
    """Each pin a group template declares, empty: its services import (said explicitly, not left to the Default, so a
    pin of an interrupted first phase is undone whatever the API does with a parameter left out)."""
    from stack_cfn.blueprints.group import ServiceGroup

    prefix = ServiceGroup.Pinned.template.format("")
    return {name: "" for name in sorted(_template(files[group_file]).get("Parameters") or {}) if name.startswith(prefix)}


def on_deployed_template(target: AwsTarget, group: str, root_parameter: str,
                         pins: Mapping[str, str]) -> tuple[dict[str, str], tuple[str, ...]] | None:
    """A first phase on the group's deployed template: its parameters with only the pins changed, and the capabilities
    it was deployed with, when that template
    declares every pin (built with pins) and nothing but pins and `root_parameter`; else None (its new template then
    takes the first phase, with whatever else changes in it).

    On the deployed template the first phase changes nothing but the imports: a group whose new template imports an
    export the root only adds in this deploy, or needs anything else of the new root, still deploys. Every parameter is
    given (CreateChangeSet API reference, UsePreviousTemplate and Parameters: one left out would take its Default)."""
    from stack_cfn.blueprints.group import ServiceGroup

    prefix = ServiceGroup.Pinned.template.format("")
    stacks = target.client("cloudformation").describe_stacks(StackName=group)["Stacks"]
    declared = {p["ParameterKey"]: str(p.get("ParameterValue", "")) for p in (stacks[0].get("Parameters") or [] if stacks else [])}
    if not declared or not set(pins) <= set(declared) or any(k != root_parameter and not k.startswith(prefix) for k in declared):
        return None
    parameters = {key: (pins.get(key, "") if key.startswith(prefix) else value) for key, value in sorted(declared.items())}
    return parameters, tuple(stacks[0].get("Capabilities") or ())


def refusal_removed(change: ExportChange, groups: Sequence[str]) -> str:
    """One line: an export the root removes that the new templates of our groups still import."""
    return (f"export {change.name} ({change.path} output {change.output}) would be removed but the new template of "
            f"{', '.join(groups)} still imports it: keep the output exported, or remove the import first")


def refusal(change: ExportChange, importers: list[str]) -> str:
    """One line: the export, who imports it, and the two-phase fix."""
    return (f"export {change.name} ({change.path} output {change.output}) would be {change.how} but {', '.join(importers)} "
            f"import{'s' if len(importers) == 1 else ''} it: first deploy {', '.join(importers)} without the import, then this change")


# ---------------------------------------------------------------- I/O


def _template(body: Any) -> dict[str, Any]:
    parsed = json.loads(body) if isinstance(body, str) else body
    return dict(parsed or {})


def deployed_exports(cfn: Any, stack: str, path: str = "") -> list[Exported]:
    """The exports of a deployed stack and of its nested stacks, each with its Output's Value expression."""
    path = path or stack
    described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    exports = [(o["OutputKey"], o["ExportName"]) for o in described.get("Outputs", []) if o.get("ExportName")]
    found: list[Exported] = []
    if exports:
        outputs = _template(cfn.get_template(StackName=stack)["TemplateBody"]).get("Outputs", {})
        found += [Exported(path, key, name, outputs.get(key, {}).get("Value")) for key, name in exports]
    for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack):
        for r in page["StackResourceSummaries"]:
            if r.get("ResourceType") == NESTED_STACK and r.get("PhysicalResourceId") and not r.get("ResourceStatus", "").startswith("DELETE"):
                found += deployed_exports(cfn, r["PhysicalResourceId"], f"{path}/{r['LogicalResourceId']}")
    return found


def new_trees(files: Mapping[str, str]) -> dict[str, Tree]:
    """The new build's top-level templates with their nested ones (model/changes.py), each file parsed once."""
    from stack_cfn.model.changes import trees_from_files

    return trees_from_files({name: _template(body) for name, body in files.items()}, "the new build")


def new_outputs(trees: Mapping[str, Tree], top: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """The Outputs each stack would have after the deploy, by path: top-level stack name -> its template file, nested ones through TemplateURL."""
    return {path: dict(tree.template.get("Outputs") or {}) for name, filename in top.items() for path, tree in flatten(name, trees[filename]).items()}


def importers(cfn: Any, export: str) -> list[str]:
    """The stacks importing an export (ListImports); AWS answers ValidationError "... is not imported by any stack" for none."""
    import botocore.exceptions

    try:
        return sorted({s for page in cfn.get_paginator("list_imports").paginate(ExportName=export) for s in page["Imports"]})
    except botocore.exceptions.ClientError as exc:
        if "not imported" in str(exc):
            return []
        raise


def _root_id(cfn: Any, stack: str) -> str:
    """The top-level stack a stack belongs to (itself, or its nested stacks' RootId)."""
    try:
        described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    except Exception:  # noqa: BLE001  # an importer gone meanwhile imports nothing
        return ""
    return str(described.get("RootId") or described.get("StackId") or "")


def _owners(cfn: Any, tops: Sequence[str]) -> dict[str, str]:
    """Our top-level stacks by their name, their id and the names of their nested stacks (an importer is a group's
    nested service stack; AWS names its top-level stack as RootId too, the local AWS does not)."""
    from stack_cfn.ship.deploy import nested_stacks

    found: dict[str, str] = {}
    for top in tops:
        found[top] = found[_root_id(cfn, top)] = top
        for physical in nested_stacks(cfn, top).values():
            found[physical] = found[physical.split("/")[1] if physical.count("/") >= 2 else physical] = top
    return found


def export_values(cfn: Any) -> dict[str, str]:
    """Every export's current value (ListExports, every page)."""
    return {e["Name"]: str(e.get("Value", "")) for page in cfn.get_paginator("list_exports").paginate() for e in page["Exports"]}


def assess(target: AwsTarget, files: Mapping[str, str], top: Mapping[str, str], stale: Sequence[str] = (),
           given: Mapping[str, str] | None = None) -> ExportPlan:
    """What the deploy does about the exports it changes (plan_phases); `top`: our top-level stack names -> their new
    template files, the root first; `stale`: our groups the deploy deletes first; `given`: the root's parameters."""
    from stack_cfn.ship.deploy import is_live

    cfn = target.client("cloudformation")
    live = [name for name in top if is_live(cfn, name)]
    root = next(iter(top))
    if root not in live:
        return ExportPlan()
    deployed = [e for name in live for e in deployed_exports(cfn, name)]
    trees = new_trees(files)
    found = changes(deployed, new_outputs(trees, top), _root_moves(cfn, target.region, trees[top[root]], root, top[root], given or {}))
    if not found:
        return ExportPlan()
    owners = _owners(cfn, [*live, *stale])
    by_export = {c.name: sorted({owners.get(s) or owners.get(_root_id(cfn, s)) or s for s in importers(cfn, c.name)}) for c in found}
    groups = {name: file for name, file in top.items() if name != root}
    from stack_cfn.blueprints.group import ServiceGroup

    new_imports = {g: imports_of(files, file, {ServiceGroup.RootStackName.name: root}) for g, file in groups.items()}
    return plan_phases(found, Importers(by_export, root, groups, frozenset(stale)), export_values(cfn), new_imports)


def _root_moves(cfn: Any, region: str, new_tree: Tree, root: str, root_file: str,
                given: Mapping[str, str]) -> dict[tuple[str, str], str]:
    """value_moves of the root's tree: the deployed templates against the new ones, replacement from the schemas."""
    from stack_cfn.model.changes import compare
    from stack_cfn.ship.deployed import deployed_parameters, read_deployed
    from stack_cfn.ship.schemas import SchemaRules

    old_tree, _ = read_deployed(cfn, root, root_file)
    old_given = deployed_parameters(cfn, root)
    found = compare({root_file: old_tree}, {root_file: new_tree}, SchemaRules(region), {root_file: old_given}, {root_file: given})
    return value_moves(Side(flatten(root, old_tree), {root: old_given}), Side(flatten(root, new_tree), {root: given}),
                       replaced_by_path(found, {root_file: root}))
