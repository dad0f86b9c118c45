"""Which change sets are ours, which of them belong to a run still going, and what an earlier run left behind.

Our change sets are named `stack-cfn-<UTC time>-<random>` (unique even for two runs in one second; the name is
also the ClientToken, so a retried CreateChangeSet is the same request) and described as
`stack-cfn run <host> <pid>`. A run is in flight while its change set is being computed or executed, or while
its process lives (same host) or it is younger than IN_FLIGHT_SECONDS (another host). Anything else of ours
is a leftover of an interrupted run (Ctrl-C, a lost connection, a plan whose clean-up failed): the next run
removes it, and removes the empty stack shell (REVIEW_IN_PROGRESS) an interrupted first deploy leaves.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import socket
import time
from collections.abc import Iterator
from typing import Any

import botocore.exceptions

from stack_cfn.errors import DeployError

PREFIX = "stack-cfn-"
RUN_TAG = "stack-cfn run"
IN_FLIGHT_SECONDS = 15 * 60
SHELL_GONE_SECONDS = 120
WORKING = {"CREATE_PENDING", "CREATE_IN_PROGRESS", "DELETE_PENDING", "DELETE_IN_PROGRESS"}
EXECUTING = {"EXECUTE_IN_PROGRESS"}
DONE = {"EXECUTE_COMPLETE", "EXECUTE_FAILED", "OBSOLETE"}  # executed change sets are history, not leftovers


def new_name() -> str:
    """Unique, and a valid ChangeSetName and ClientToken ([a-zA-Z][-a-zA-Z0-9]*, at most 128)."""
    return f"{PREFIX}{dt.datetime.now(dt.UTC):%Y%m%d%H%M%S}-{secrets.token_hex(4)}"


def description() -> str:
    return f"{RUN_TAG} {socket.gethostname()[:100]} {os.getpid()}"


def is_ours(summary: dict[str, Any]) -> bool:
    return str(summary.get("ChangeSetName", "")).startswith(PREFIX)


def is_gone(exc: botocore.exceptions.ClientError) -> bool:
    code = exc.response.get("Error", {}).get("Code", "")
    text = str(exc.response.get("Error", {}).get("Message", ""))
    return code in ("ChangeSetNotFound", "ChangeSetNotFoundException") or "does not exist" in text or "not found" in text.lower()


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def in_flight(summary: dict[str, Any], now: dt.datetime | None = None) -> bool:
    """A change set of a run that is still going (computing it, executing it, or alive between the two)."""
    if summary.get("Status") in WORKING or summary.get("ExecutionStatus") in EXECUTING:
        return True
    if summary.get("ExecutionStatus") not in (None, "AVAILABLE"):
        return False
    parts = str(summary.get("Description") or "").split()
    if parts[:2] != RUN_TAG.split():
        return False
    host, pid = (parts[2], parts[3]) if len(parts) >= 4 else ("", "")
    if host == socket.gethostname()[:100] and pid.isdigit():
        return int(pid) != os.getpid() and _process_alive(int(pid))
    created = summary.get("CreationTime")
    now = now or dt.datetime.now(dt.UTC)
    return isinstance(created, dt.datetime) and (now - created).total_seconds() < IN_FLIGHT_SECONDS


def _summaries(cfn: Any, stack_name: str) -> list[dict[str, Any]]:
    """The stack's change sets; ours pending carry their Description (moto's summaries lack it)."""
    from stack_cfn.ship.deploy import list_change_sets

    try:
        summaries = list_change_sets(cfn, stack_name)
    except botocore.exceptions.ClientError as exc:
        if "does not exist" in str(exc):
            return []
        raise
    for summary in summaries:
        if is_ours(summary) and "Description" not in summary and summary.get("ExecutionStatus") not in DONE:
            try:
                summary["Description"] = cfn.describe_change_set(ChangeSetName=summary["ChangeSetId"]).get("Description")
            except botocore.exceptions.ClientError as exc:
                if not is_gone(exc):
                    raise
    return summaries


def _refuse(stack_name: str, summary: dict[str, Any]) -> DeployError:
    who = " ".join(str(summary.get("Description", "")).split()[2:4]) or "another run"
    return DeployError(f"another stack-cfn run ({who}) is working on stack {stack_name} (change set {summary['ChangeSetName']}, "
                       f"{summary.get('ExecutionStatus') or summary.get('Status')}); wait for it to finish and run again")


def settle(cfn: Any, stack_name: str) -> Iterator[str]:
    """Remove our leftovers from the stack, saying what was removed; refuse while a run of ours is in flight."""
    from stack_cfn.ship.deploy import stack_status

    summaries = _summaries(cfn, stack_name)
    for summary in summaries:
        if is_ours(summary) and in_flight(summary):
            raise _refuse(stack_name, summary)
    for summary in summaries:
        if is_ours(summary) and summary.get("ExecutionStatus") not in DONE:
            try:
                cfn.delete_change_set(ChangeSetName=summary["ChangeSetId"])
            except botocore.exceptions.ClientError as exc:
                if not is_gone(exc):
                    raise
            yield f"removed change set {summary['ChangeSetName']} left pending on {stack_name} by an earlier run"
    # Our leftovers are gone by now: a change set still there, ours or not, belongs to a run that started since (a
    # concurrent first deploy's shell), so the shell is deleted only when it holds none at all.
    if stack_status(cfn, stack_name) == "REVIEW_IN_PROGRESS" and not _summaries(cfn, stack_name):
        cfn.delete_stack(StackName=stack_name)
        _wait_gone(cfn, stack_name)
        yield f"removed the empty stack {stack_name} (REVIEW_IN_PROGRESS) an interrupted first deploy left"


def _wait_gone(cfn: Any, stack_name: str) -> None:
    from stack_cfn.ship.deploy import stack_status

    deadline = time.monotonic() + SHELL_GONE_SECONDS
    while stack_status(cfn, stack_name) not in (None, "DELETE_COMPLETE"):
        if time.monotonic() > deadline:
            raise DeployError(f"the empty stack {stack_name} (REVIEW_IN_PROGRESS) is still being deleted; run again in a minute")
        time.sleep(1)


def find(cfn: Any, stack_name: str, name: str) -> str | None:
    """The id of our change set `name` on the stack, if it is there."""
    return next((s["ChangeSetId"] for s in _summaries(cfn, stack_name) if s["ChangeSetName"] == name), None)


def refuse_if_raced(cfn: Any, stack_name: str, name: str, arn: str) -> None:
    """Two runs that made their change sets at the same moment: the earlier one goes on, the later one withdraws.

    Both runs judge one order, (CreationTime, name), from one listing of the rivals; their own change set's time comes
    from DescribeChangeSet by the ARN CreateChangeSet answered, not from a second listing, so a run never withdraws
    for want of seeing itself there (no AWS document promises a listing shows a change set the moment it is made)."""
    rivals = [s for s in _summaries(cfn, stack_name) if is_ours(s) and s["ChangeSetName"] != name and in_flight(s)]
    if not rivals:
        return
    created = cfn.describe_change_set(ChangeSetName=arn).get("CreationTime")
    key = lambda s: (s.get("CreationTime") or dt.datetime.max.replace(tzinfo=dt.UTC), s["ChangeSetName"])  # noqa: E731
    first = min(rivals, key=key)
    if key({"CreationTime": created, "ChangeSetName": name}) < key(first):
        return
    try:
        cfn.delete_change_set(ChangeSetName=arn)
    except botocore.exceptions.ClientError as exc:
        if not is_gone(exc):
            raise
    raise _refuse(stack_name, first)
