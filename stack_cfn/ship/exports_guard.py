"""Export safety: before a deploy, the exports of our stacks that another stack imports and that the new templates
would remove or redefine. CloudFormation refuses such an update only late, mid-deploy ("Cannot update export ... as it
is in use by ..."; "Export ... cannot be deleted as it is in use by ...": CloudFormation User Guide, Exporting stack
output values, "you can't modify or remove an output value that is referenced by another stack"); the fix is two
deploys: first the importers without the import, then this change.

A value known only after the deploy cannot be compared before it: an export counts as changed when its Output's
Value expression (get_template of the deployed stack vs the new template) differs, or when the Output or its Export is gone.

changes / refusal are pure; deployed_exports / new_outputs / importers read CloudFormation and the compiled templates.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

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
    how: str  # "removed" or "redefined"


def changes(deployed: list[Exported], new: Mapping[str, Mapping[str, Any]]) -> list[ExportChange]:
    """The deployed exports the new templates remove or redefine: a nested stack gone takes its exports with it; a
    top-level stack the new templates do not describe is left out."""
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
    return found


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


def new_outputs(files: Mapping[str, str], top: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """The Outputs each stack would have after the deploy, by path: top-level stack name -> its template file, nested ones through TemplateURL."""
    found: dict[str, dict[str, Any]] = {}
    for name, filename in top.items():
        found.update(_walk(files, filename, name))
    return found


def _walk(files: Mapping[str, str], filename: str, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    template = _template(files[filename])
    yield path, dict(template.get("Outputs", {}))
    for logical_id, resource in template.get("Resources", {}).items():
        url = resource.get("Properties", {}).get("TemplateURL") if resource.get("Type") == NESTED_STACK else None
        if isinstance(url, str) and url in files:
            yield from _walk(files, url, f"{path}/{logical_id}")


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


def check(target: Any, files: Mapping[str, str], top: Mapping[str, str]) -> list[str]:
    """Refusals (one line per export) for exports the deploy would remove or redefine that stacks not ours import;
    `top`: our top-level stack names -> their new template files (the root first)."""
    cfn = target.client("cloudformation")
    live = [name for name in top if _exists(cfn, name)]
    if not live:
        return []
    deployed = [e for name in live for e in deployed_exports(cfn, name)]
    ours = {_root_id(cfn, name) for name in live} | set(top)
    lines = []
    for change in changes(deployed, new_outputs(files, top)):
        foreign = [s for s in importers(cfn, change.name) if s not in top and _root_id(cfn, s) not in ours]
        if foreign:
            lines.append(refusal(change, foreign))
    return lines


def _exists(cfn: Any, stack: str) -> bool:
    from stack_cfn.ship.deploy import stack_status

    return stack_status(cfn, stack) not in (None, "REVIEW_IN_PROGRESS")
