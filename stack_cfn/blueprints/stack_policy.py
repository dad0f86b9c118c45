"""Stack policies: which resources hold state, and the policy document of each stack that holds them.

In an unattended pipeline nobody reads the change set; one edit of a create-only property would replace a
database. CloudFormation's own guard is the stack policy ("Prevent updates to stack resources", CloudFormation
User Guide, protect-stack-resources): once a stack has one, an update that would do a denied action to a
named resource fails and rolls back. Three rules of that guide are relied on here:
- a policy applies to the stack it is set on, during updates only, by logical id (`LogicalResourceId/<id>`);
- `Update:Replace` and `Update:Delete` are the actions of replacing and of removing a resource;
- a Deny always beats an Allow, and a stack with a policy denies what no statement allows (so each policy
  starts with an Allow of `Update:*` on `*`).
A parent's policy does not reach the resources of its nested stacks (they are other stacks; the guide's
examples name only the parent's own resources; cloudformation-coverage-roadmap#1512 "Support StackPolicy for
nested stacks": "These policies are NOT applied to the nested stack"): every nested stack that holds a
stateful resource gets its own policy (ship/protect.py sets it by the nested stack's physical id), and the
parent denies removing or replacing the nested stack itself when what it holds would not survive that.

Pure: template JSON in, documents out. The documents are compact, sorted JSON: byte-identical per input.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, cast

NESTED = "AWS::CloudFormation::Stack"
# What a replacement or a removal destroys: data, an address others allow-list, a secret's value.
STATEFUL_TYPES = frozenset({"AWS::RDS::DBInstance", "AWS::RDS::DBCluster", "AWS::S3::Bucket", "AWS::EC2::EIP", "AWS::SecretsManager::Secret"})
# Log groups hold state only where the template keeps them (DeletionPolicy Retain): the service's logs.
RETAINED_ONLY_TYPES = frozenset({"AWS::Logs::LogGroup"})
RETAINED = frozenset({"Retain", "RetainExceptOnCreate"})
DENIED = ("Update:Replace", "Update:Delete")
# SetStackPolicy: StackPolicyBody is at most 16,384 bytes (CloudFormation API Reference, SetStackPolicy).
POLICY_BODY_LIMIT = 16_384


@dataclass(frozen=True, order=True)
class Guard:
    """A protected resource: `path` is its logical id in the top-level stack `top`, through nested stacks (`NetworkStack/LogBucket`)."""

    top: str
    path: str
    resource_type: str


def resources(body: str) -> Mapping[str, Mapping[str, Any]]:
    found: Mapping[str, Mapping[str, Any]] = _parsed(body).get("Resources", {})
    return found


@cache
def _parsed(body: str) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(body)
    return parsed


def stateful(resource: Mapping[str, object]) -> bool:
    kind = resource.get("Type")
    return kind in STATEFUL_TYPES or (kind in RETAINED_ONLY_TYPES and resource.get("DeletionPolicy") in RETAINED)


def perishable(files: Mapping[str, str], name: str) -> bool:
    """Whether removing the stack of template `name` would destroy state: a stateful resource in it (or below) that is not retained."""
    for resource in resources(files[name]).values():
        if resource.get("Type") == NESTED:
            if perishable(files, str(resource["Properties"]["TemplateURL"])):
                return True
        elif stateful(resource) and resource.get("DeletionPolicy") not in RETAINED:
            return True
    return False


def protected_ids(files: Mapping[str, str], name: str) -> list[str]:
    """Logical ids a policy on the stack of template `name` denies replacing and removing."""
    found = []
    for logical_id, resource in sorted(resources(files[name]).items()):
        if resource.get("Type") == NESTED:
            if perishable(files, str(resource["Properties"]["TemplateURL"])):
                found.append(logical_id)
        elif stateful(resource):
            found.append(logical_id)
    return found


def nested_templates(files: Mapping[str, str], name: str) -> dict[str, str]:
    """Logical id -> template file of each nested stack of template `name`."""
    return {logical_id: str(r["Properties"]["TemplateURL"]) for logical_id, r in sorted(resources(files[name]).items())
            if r.get("Type") == NESTED}


def guards(files: Mapping[str, str], top: str, name: str = "", prefix: str = "") -> list[Guard]:
    """Every protected resource of the top-level template `top`, nested stacks included, by path."""
    name = name or top
    found = [Guard(top, f"{prefix}{logical_id}", str(resources(files[name])[logical_id]["Type"])) for logical_id in protected_ids(files, name)]
    for logical_id, child in nested_templates(files, name).items():
        found += guards(files, top, child, f"{prefix}{logical_id}/")
    return found


def policy(protected: Iterable[str]) -> dict[str, Any]:
    """The stack policy document: everything may be updated, except replacing or removing the protected ids."""
    statements: list[dict[str, Any]] = [{"Action": "Update:*", "Effect": "Allow", "Principal": "*", "Resource": "*"}]
    statements += [{"Action": list(DENIED), "Effect": "Deny", "Principal": "*", "Resource": f"LogicalResourceId/{logical_id}"}
                   for logical_id in sorted(set(protected))]
    return {"Statement": statements}


def policy_body(document: Mapping[str, object]) -> str:
    """The document as sent to SetStackPolicy: compact, sorted; refused past the API's size limit."""
    body = json.dumps(document, sort_keys=True, separators=(",", ":"))
    if len(body.encode()) > POLICY_BODY_LIMIT:
        raise ValueError(f"a stack policy of {len(body.encode())} bytes is past SetStackPolicy's {POLICY_BODY_LIMIT}")
    return body


def policies(files: Mapping[str, str], top: str) -> dict[str, dict[str, Any]]:
    """Path of each stack under `top` that holds a protected resource ("" for `top` itself, "NetworkStack" for a nested one)
    -> its policy document."""
    by_stack: dict[str, list[str]] = {}
    for guard in guards(files, top):
        stack, _, logical_id = guard.path.rpartition("/")
        by_stack.setdefault(stack, []).append(logical_id)
    by_stack.setdefault("", [])
    return {stack: policy(ids) for stack, ids in sorted(by_stack.items())}


def listed(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _matches(statement: Mapping[str, object], action: str, logical_id: str) -> bool:
    """Whether a statement covers an action on a resource ("Defining a stack policy": Action/NotAction, Resource/NotResource,
    `*` wildcards). A Condition (on ResourceType) is taken as met: the answer errs towards "denied"."""
    resource = f"LogicalResourceId/{logical_id}"
    if "Action" in statement:
        hit = any(fnmatch.fnmatchcase(action, a) for a in listed(statement["Action"]))
    else:
        hit = not any(fnmatch.fnmatchcase(action, a) for a in listed(statement.get("NotAction", [])))
    if "Resource" in statement:
        return hit and any(fnmatch.fnmatchcase(resource, r) for r in listed(statement["Resource"]))
    return hit and not any(fnmatch.fnmatchcase(resource, r) for r in listed(statement.get("NotResource", [])))


def denies(document: Mapping[str, object] | None, action: str, logical_id: str) -> bool:
    """Whether a stack policy denies an action on a resource: a Deny covers it, or no Allow does (a policy denies by default)."""
    if not document:
        return False  # no policy: every update is allowed
    found = statements(document)
    if any(s.get("Effect") == "Deny" and _matches(s, action, logical_id) for s in found):
        return True
    return not any(s.get("Effect") == "Allow" and _matches(s, action, logical_id) for s in found)


def statements(document: Mapping[str, object]) -> list[Mapping[str, object]]:
    statements = document.get("Statement", [])
    listed = statements if isinstance(statements, list) else [statements]
    return cast(list[Mapping[str, object]], listed)  # a policy's statements are objects (SetStackPolicy refuses anything else)


def blocked(changes: Iterable[Mapping[str, object]], documents: Mapping[str, Mapping[str, object] | None]) -> list[str]:
    """What a change set would do that the stack policies deny, one line each. `documents`: the policy of the top-level
    stack ("") and of its nested stacks by path; a change's LogicalResourceId is a path (`NetworkStack/LogBucket`).
    From each change's Action (Remove: Update:Delete) and Replacement (True: Update:Replace; Conditional: may be)."""
    lines = []
    for change in changes:
        stack, _, logical_id = str(change.get("LogicalResourceId", "")).rpartition("/")
        action, replacement = change.get("Action"), change.get("Replacement")
        if action == "Remove":
            denied, verb = "Update:Delete", "would be removed"
        elif action == "Modify" and replacement in ("True", "Conditional"):
            denied, verb = "Update:Replace", "would be replaced" if replacement == "True" else "may be replaced"
        else:
            continue
        if denies(documents.get(stack), denied, logical_id):
            where = f"{stack}'s" if stack else "the"
            lines.append(f"{change.get('LogicalResourceId')} ({change.get('ResourceType')}) {verb}: {where} stack policy denies {denied}")
    return lines
