"""Stuck stacks: what state a stack is in, what blocks its rollback, what a deletion keeps; and the calls that move it on.

The decision part (decide, skip_id, retained_in, rollback_token) is pure; blockers / continue_rollback / retained /
delete read and write CloudFormation.

AWS rules relied on (ContinueUpdateRollback API reference, https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ContinueUpdateRollback.html):
- It applies to a stack in UPDATE_ROLLBACK_FAILED and is called on the parent stack, never on a nested one.
- ResourcesToSkip names resources in UPDATE_FAILED because their rollback failed; a nested stack's resource is
  named `NestedStackName.ResourceLogicalID` (the logical id of the AWS::CloudFormation::Stack resource in its parent).
- ClientRequestToken ([a-zA-Z0-9][-a-zA-Z0-9]*, 1..128) makes a retried request the same request.
A stack in ROLLBACK_COMPLETE (its first create failed) can only be deleted (CloudFormation troubleshooting,
"Update rollback failed" / stack status codes); resources with DeletionPolicy Retain (or Snapshot: the snapshot)
stay in the account (DeletionPolicy attribute reference).
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from enum import Enum
from typing import Any

NESTED_STACK = "AWS::CloudFormation::Stack"
TOKEN = re.compile(r"^[a-zA-Z0-9][-a-zA-Z0-9]{0,127}$")  # ContinueUpdateRollback API reference, ClientRequestToken
KEEPING_POLICIES = ("Retain", "RetainExceptOnCreate", "Snapshot")  # DeletionPolicy attribute reference


class Action(Enum):
    CONTINUE_ROLLBACK = "continue the rollback"
    DELETE = "delete"
    WAIT = "wait"
    FINE = "nothing to do"
    MANUAL = "manual"
    MISSING = "does not exist"


@dataclass(frozen=True)
class Blocker:
    """A resource whose rollback failed: `skip_id` is what ResourcesToSkip takes for it."""

    stack: str
    skip_id: str
    resource_type: str
    reason: str


@dataclass(frozen=True)
class Kept:
    """A resource a deletion leaves in the account (its DeletionPolicy), with its physical id when it was made."""

    logical_id: str
    resource_type: str
    policy: str
    physical_id: str = ""


def decide(stack: str, status: str | None) -> tuple[Action, str]:
    """What recover does with a stack in this state, and the line that says so."""
    if status is None:
        return Action.MISSING, f"{stack} does not exist; nothing to recover"
    if status == "UPDATE_ROLLBACK_FAILED":
        return Action.CONTINUE_ROLLBACK, f"{stack} is UPDATE_ROLLBACK_FAILED: continuing its rollback"
    if status == "ROLLBACK_COMPLETE":
        return Action.DELETE, f"{stack} is ROLLBACK_COMPLETE (its first create failed): deleting it so the next deploy can create it"
    if status.endswith("_IN_PROGRESS") and status != "REVIEW_IN_PROGRESS":
        return Action.WAIT, f"{stack} is {status}: wait for it to finish, then run recover again if it ends FAILED"
    if status in ("ROLLBACK_FAILED", "DELETE_FAILED", "IMPORT_ROLLBACK_FAILED"):
        return Action.MANUAL, (f"{stack} is {status}: delete it, retaining the resources that fail "
                               f"(aws cloudformation delete-stack --stack-name {stack} --retain-resources ...)")
    return Action.FINE, f"{stack} is {status}: fine, nothing to recover"


def skip_id(parent_logical_id: str, logical_id: str) -> str:
    """ResourcesToSkip's name for a resource: its logical id, or `NestedStackName.LogicalId` inside a nested stack."""
    return f"{parent_logical_id}.{logical_id}" if parent_logical_id else logical_id


def rollback_token() -> str:
    """One ContinueUpdateRollback request's token, the same on every retry of that request."""
    token = f"stack-cfn-recover-{secrets.token_hex(8)}"
    assert TOKEN.match(token)
    return token


def retained_in(template: Any, made: dict[str, str] | None = None) -> list[Kept]:
    """The resources of a template a deletion keeps (DeletionPolicy Retain, RetainExceptOnCreate, Snapshot), by logical id."""
    body = json.loads(template) if isinstance(template, str) else template
    made = made or {}
    kept = [Kept(logical_id, str(r.get("Type", "")), str(r.get("DeletionPolicy")), made.get(logical_id, ""))
            for logical_id, r in sorted((body or {}).get("Resources", {}).items())
            if isinstance(r, dict) and r.get("DeletionPolicy") in KEEPING_POLICIES]
    return kept


# ---------------------------------------------------------------- I/O


def _resources(cfn: Any, stack: str) -> list[dict[str, Any]]:
    return [r for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack) for r in page["StackResourceSummaries"]]


def blockers(cfn: Any, stack: str, parent_logical_id: str = "", display: str = "") -> list[Blocker]:
    """The resources in UPDATE_FAILED of a stack and, through nested stacks in UPDATE_FAILED, of its nested stacks."""
    found: list[Blocker] = []
    for r in _resources(cfn, stack):
        if r.get("ResourceStatus") != "UPDATE_FAILED":
            continue
        logical_id = r["LogicalResourceId"]
        if r.get("ResourceType") == NESTED_STACK and r.get("PhysicalResourceId"):
            inner = blockers(cfn, r["PhysicalResourceId"], logical_id, f"{display or stack}/{logical_id}")
            if inner:
                found += inner
                continue
        found.append(Blocker(display or stack, skip_id(parent_logical_id, logical_id), str(r.get("ResourceType", "")),
                             " ".join(str(r.get("ResourceStatusReason") or "no reason given").split())))
    return found


def continue_rollback(cfn: Any, stack: str, skip: list[str], token: str) -> None:
    """ContinueUpdateRollback on the parent stack, skipping `skip`; the token makes botocore's retries the same request."""
    cfn.continue_update_rollback(StackName=stack, ResourcesToSkip=sorted(skip), ClientRequestToken=token)


def retained(cfn: Any, stack: str) -> list[Kept]:
    """What deleting the stack leaves: its template's kept resources, with the physical ids of those that were made."""
    template = cfn.get_template(StackName=stack, TemplateStage="Original")["TemplateBody"]
    made = {r["LogicalResourceId"]: r.get("PhysicalResourceId", "") for r in _resources(cfn, stack) if r.get("PhysicalResourceId")}
    return retained_in(template, made)


def latest_event_time(cfn: Any, stack: str) -> Any:
    """The time of the stack's newest event: what follows it shows only the events after."""
    events = cfn.describe_stack_events(StackName=stack)["StackEvents"]
    return events[0]["Timestamp"] if events else None
