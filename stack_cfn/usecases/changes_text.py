"""Changes (model/changes.py) as people read them: per template, + / ~ / - resources, their property paths,
REPLACE and DATA LOSS flags, then one loud line per stateful resource lost; for plan, replacements and drift.
Pure: returns text."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from stack_cfn.model.changes import Changes, PropertyChange, ResourceChange

if TYPE_CHECKING:
    from stack_cfn.ship.drift import DriftReport

MARK = {"add": "+", "modify": "~", "remove": "-"}
VALUE_WIDTH = 100


def value_text(value: Any) -> str:
    if value is None:
        return "(none)"
    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return text if len(text) <= VALUE_WIDTH else text[: VALUE_WIDTH - 3] + "..."


def loss_text(r: ResourceChange) -> str:
    """What a stateful resource loses, as one flag: nothing when it is retained on removal."""
    if not r.loss:
        return ""
    kept = f" ({r.mitigation})" if r.mitigation else ""
    if r.action == "remove" and r.mitigation == "retained":
        return f"STATEFUL, REMOVED FROM THE STACK: {r.loss} kept (retained; no longer managed by the stack)"
    if r.action == "modify" and r.replacement == "conditional":
        return f"POSSIBLE DATA LOSS: {r.loss}{kept}, if CloudFormation replaces it"
    return f"DATA LOSS: {r.loss}{kept}"


def _flags(r: ResourceChange) -> str:
    flags = {"always": "REPLACE", "conditional": "MAY REPLACE"}.get(r.replacement, "") if r.action == "modify" else ""
    return "  ".join(f for f in (flags, loss_text(r)) if f)


def _property_line(p: PropertyChange) -> str:
    if p.certain:
        change = f"{value_text(p.old)} -> {value_text(p.new)}"
    elif p.old == p.new:
        change = f"may change ({value_text(p.new)})"
    else:
        change = f"{value_text(p.old)} -> {value_text(p.new)} (computed by CloudFormation: may change)"
    why = {"always": "REPLACES", "conditional": "MAY REPLACE"}.get(p.replacement, "")
    notes = "; ".join(n for n in (why, p.why) if n)
    return f"      {p.path}: {change}" + (f"  [{notes}]" if notes else "")


def _resource_lines(r: ResourceChange) -> list[str]:
    head = f"  {MARK[r.action]} {r.logical_id} ({r.resource_type})"
    flags = _flags(r)
    lines = [head + (f"  {flags}" if flags else "")]
    if r.note:
        lines.append(f"      note: {r.note}")
    lines += [_property_line(p) for p in r.properties]
    return lines


def changes_text(changes: Changes, old_label: str, new_label: str) -> str:
    lines = [f"comparing {old_label} with {new_label}"]
    if not changes.changed:
        lines.append(f"no changes: the {changes.compared} template(s) compare equal")
        return "\n".join(lines) + "\n"
    for t in changes.templates:
        files = t.old_file if t.old_file == t.new_file else f"{t.old_file or 'new'} -> {t.new_file or 'removed'}"
        lines.append(t.path if t.old_file == t.new_file == t.path else f"{t.path} ({files})")
        for r in t.resources:
            lines += _resource_lines(r)
    lines += ["", *(f"!! {loss_text(r)}: {r.logical_id} ({r.resource_type}) in {path}, "
                    f"{'removed' if r.action == 'remove' else 'replaced' if r.replacement == 'always' else 'maybe replaced'}"
                    for path, r in changes.losses)]
    lines.append(summary(changes))
    return "\n".join(lines) + "\n"


def summary(changes: Changes) -> str:
    resources = [r for t in changes.templates for r in t.resources]
    count = {a: sum(1 for r in resources if r.action == a) for a in MARK}
    replaced = sum(1 for r in resources if r.action == "modify" and r.replacement != "never")
    return (f"{len(changes.templates)} of {changes.compared} template(s) changed: {count['add']} to add, {count['modify']} to modify "
            f"({replaced} replaced or maybe replaced), {count['remove']} to remove; {len(changes.losses)} stateful resource(s) replaced or removed")


def replacements_text(changes: Changes) -> str:
    """For plan: the resources a deploy replaces (or may), decided from the schemas, and the stateful ones lost."""
    lines = ["replacement (decided from the resource schemas' create-only properties: deployed templates vs the new build):"]
    replaced = [(t.path, r) for t in changes.templates for r in t.resources if r.action == "modify" and r.replacement != "never"]
    for path, r in replaced:
        why = "; ".join(f"{p.path} {value_text(p.old)} -> {value_text(p.new)}" + (f" ({p.why})" if p.why else "")
                        for p in r.properties if p.replacement != "never")
        flags = "  ".join(f for f in ({"always": "REPLACE", "conditional": "MAY REPLACE"}[r.replacement], loss_text(r)) if f)
        lines.append(f"  {flags}: {r.logical_id} ({r.resource_type}) in {path}: {why}")
    if not replaced:
        lines.append("  no resource is replaced")
    lines += [f"!! {loss_text(r)}: {r.logical_id} ({r.resource_type}) in {path}, {'removed' if r.action == 'remove' else 'replaced'}"
              for path, r in changes.losses]
    return "\n".join(lines) + "\n"


def drift_text(report: DriftReport, reverted: set[tuple[str, str]]) -> str:
    """For plan: what drifted on the deployed stacks, and whether this deploy sets it back."""
    if report.unavailable:
        return f"drift detection unavailable: {report.unavailable}\n"
    lines = [f"drift (CloudFormation's drift detection on {report.checked} stack(s)):"]
    for d in report.drifted:
        props = f": {', '.join(d.properties)}" if d.properties else ""
        fate = ("the deploy modifies it, setting the drifted values back to the template's" if (d.top, d.resource) in reverted
                else "this deploy does not touch it: the drift stays")
        lines.append(f"  ! {d.resource} ({d.resource_type}) in {d.top} {d.status}{props}; {fate}")
    lines += [f"  not checked: {u}" for u in report.unchecked]
    if not report.drifted:
        lines.append(f"  no drift: {report.checked} stack(s) match their templates")
    return "\n".join(lines) + "\n"
