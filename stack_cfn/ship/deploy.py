"""Upload, plan, deploy, read outputs, destroy: CloudFormation through boto3."""

from __future__ import annotations

import functools
import hashlib
import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import botocore.exceptions

from stack_cfn.blueprints.compiler import Compiled, content_name
from stack_cfn.blueprints.root_contract import Root
from stack_cfn.errors import DeployError
from stack_cfn.model import names as stack_names
from stack_cfn.model.rules import BUCKET_NAME
from stack_cfn.ship import runs
from stack_cfn.ship.aws import AwsTarget
from stack_cfn.ship.aws_errors import AwsError, busy_error, busy_means, is_busy, message_of

FINGERPRINT_TAG = "stack-cfn:fingerprint"
CHANGE_SET_PREFIX = runs.PREFIX
BUSY = re.compile(r"_IN_PROGRESS$")
DONE_OK = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE"}
NO_CHANGES = ("didn't contain changes", "No updates are to be performed", "submitted information didn't contain changes")


def check_bucket_name(bucket: str) -> None:
    problem = BUCKET_NAME.problem(bucket)
    if problem:
        raise DeployError(f"--bucket: {problem}; {BUCKET_NAME.fix}")


@dataclass(frozen=True)
class Uploaded:
    bucket: str
    urls: Mapping[str, str]  # top-level template (the root, each service group) -> its S3 URL
    uploaded: tuple[str, ...]
    skipped: tuple[str, ...]
    created_bucket: bool = False
    root: str = "stack.json"

    @property
    def root_url(self) -> str:
        return self.urls[self.root]


class UploadFailed(DeployError):
    """An upload that stopped part way: `partial` says what it made (the bucket, the keys sent), for a plan to remove."""

    def __init__(self, message: str, partial: Uploaded) -> None:
        super().__init__(message)
        self.partial = partial


def s3_url(target: AwsTarget, bucket: str, key: str) -> str:
    return f"https://{bucket}.s3.{target.region}.amazonaws.com/{key}"


def nested_keys(compiled: Compiled, prefix: str) -> dict[str, str]:
    """The S3 key of each nested template: content-addressed, so an unchanged one is not sent again (package names them alike)."""
    return {name: f"{prefix}/{content_name(PurePosixPath(name).stem, body)}" for name, body in compiled.files.items() if name not in compiled.stacks}


def upload(target: AwsTarget, compiled: Compiled, bucket: str, prefix: str = "stack-cfn", create_bucket: bool = False) -> Uploaded:
    """Put every template under a content-addressed key; unchanged ones are not sent again. Top-level
    templates (the root, service groups) get their nested TemplateURLs rewritten to the uploaded ones."""
    check_bucket_name(bucket)
    s3 = target.client("s3")
    with busy_means("S3 CreateBucket", f"nothing was uploaded; s3://{bucket} exists now if its CreateBucket went through"):
        created = _ensure_bucket(s3, target, bucket, create_bucket)
    keys = nested_keys(compiled, prefix)
    urls = {name: s3_url(target, bucket, key) for name, key in keys.items()}
    bodies = dict(compiled.files)
    for top in compiled.stacks:
        bodies[top] = _with_urls(compiled.files[top], urls)
        keys[top] = f"{prefix}/{content_name(PurePosixPath(top).stem, bodies[top])}"
    uploaded: list[str] = []
    skipped: list[str] = []
    try:
        with busy_means("S3 upload", "templates uploaded so far are reused next time"):
            _put_all(s3, bucket, keys, bodies, uploaded, skipped)
    except DeployError as exc:
        raise UploadFailed(str(exc), Uploaded(bucket, {}, tuple(uploaded), tuple(skipped), created, compiled.root)) from None
    tops = {top: s3_url(target, bucket, keys[top]) for top in compiled.stacks}
    return Uploaded(bucket, tops, tuple(uploaded), tuple(skipped), created, compiled.root)


def _put_all(s3: Any, bucket: str, keys: Mapping[str, str], bodies: Mapping[str, str], uploaded: list[str], skipped: list[str]) -> None:
    for filename, key in keys.items():
        if _exists(s3, bucket, key):
            skipped.append(key)
            continue
        s3.put_object(Bucket=bucket, Key=key, Body=bodies[filename].encode(), ContentType="application/json")
        uploaded.append(key)


def _with_urls(body: str, urls: Mapping[str, str]) -> str:
    template = json.loads(body)
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") == "AWS::CloudFormation::Stack":
            resource["Properties"]["TemplateURL"] = urls[resource["Properties"]["TemplateURL"]]
    return json.dumps(template, indent=2, sort_keys=True) + "\n"


def _ensure_bucket(s3: Any, target: AwsTarget, bucket: str, create: bool) -> bool:
    """True when the bucket had to be created."""
    try:
        s3.head_bucket(Bucket=bucket)
        return False
    except botocore.exceptions.ClientError as exc:
        code = exc.response["Error"].get("Code")
        if is_busy(exc):
            raise busy_error(exc, "S3 HeadBucket", "nothing was uploaded") from None
        if code not in ("404", "NoSuchBucket", "NotFound"):
            raise DeployError(f"--bucket: cannot use s3://{bucket} ({code}); pick a bucket you own") from None
    if not create:
        raise DeployError(f"--bucket: s3://{bucket} does not exist; create it or pass --create-bucket")
    kwargs: dict[str, Any] = {"Bucket": bucket}
    if target.region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": target.region}
    try:
        s3.create_bucket(**kwargs)
    except botocore.exceptions.ClientError as exc:
        if exc.response["Error"].get("Code") != "BucketAlreadyOwnedByYou":  # a retry whose first answer was lost
            raise
    return True


def _exists(s3: Any, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return True
    except botocore.exceptions.ClientError:
        return False


# ---------------------------------------------------------------- stacks


def stack_status(cfn: Any, stack_name: str) -> str | None:
    try:
        stacks = cfn.describe_stacks(StackName=stack_name)["Stacks"]
    except botocore.exceptions.ClientError as exc:
        if "does not exist" in str(exc):
            return None
        raise
    return stacks[0]["StackStatus"] if stacks else None


def is_live(cfn: Any, stack_name: str) -> bool:
    """The stack exists with resources: not missing, and not only the empty shell (REVIEW_IN_PROGRESS) a CREATE change
    set makes before it runs."""
    return stack_status(cfn, stack_name) not in (None, "REVIEW_IN_PROGRESS")


def deleted_at(cfn: Any, stack_name: str) -> str | None:
    """When a stack of this name was last deleted, or None (ListStacks API reference: "Summary information for stacks
    that have been deleted is kept for 90 days after the stack is deleted"; DeletionTime in StackSummary): a rerun of a
    destroy whose DeleteStack answer was lost finds it gone, and is told so instead of being told the name is unknown.
    ("" when the answer lacks DeletionTime, as moto's does.)"""
    with busy_means("ListStacks", "nothing was changed"):
        pages = cfn.get_paginator("list_stacks").paginate(StackStatusFilter=["DELETE_COMPLETE"])
        gone = [s for page in pages for s in page.get("StackSummaries", []) if s.get("StackName") == stack_name]
    if not gone:
        return None
    times = sorted(s["DeletionTime"] for s in gone if s.get("DeletionTime") is not None)
    return f"{times[-1]:%Y-%m-%d %H:%M:%S %Z}".strip() if times else ""


def check_deployable(cfn: Any, stack_name: str) -> str | None:
    """The current status, or a DeployError saying what to do when the stack cannot take a change."""
    status = stack_status(cfn, stack_name)
    if status is None:
        return None
    if status == "REVIEW_IN_PROGRESS":
        pending = [c["ChangeSetName"] for c in list_change_sets(cfn, stack_name) if not c["ChangeSetName"].startswith(CHANGE_SET_PREFIX)]
        if pending:
            raise DeployError(
                f"stack {stack_name} is REVIEW_IN_PROGRESS: someone's change set {', '.join(pending[:3])} was never executed (the stack has no "
                f"resources yet); execute it, or delete the empty stack (aws cloudformation delete-stack --stack-name {stack_name}) and deploy again")
        return status
    if BUSY.search(status):
        raise DeployError(
            f"stack {stack_name} is busy ({status}); wait for it to finish "
            f"(aws cloudformation describe-stack-events --stack-name {stack_name}) and deploy again"
        )
    if status == "ROLLBACK_COMPLETE":
        raise DeployError(
            f"stack {stack_name} is in ROLLBACK_COMPLETE: its first create failed and it cannot be updated; "
            f"delete it (stack-cfn recover --stack-name {stack_name}: it lists what stays) and deploy again"
        )
    if status == "UPDATE_ROLLBACK_FAILED":
        raise DeployError(f"stack {stack_name} is in {status}; continue rollback with stack-cfn recover --stack-name {stack_name} "
                          "(it names the resources blocking it and asks which to skip)")
    if status in ("ROLLBACK_FAILED", "DELETE_FAILED"):
        raise DeployError(f"stack {stack_name} is in {status}; fix it in the CloudFormation console (continue rollback or delete) first")
    return status


@dataclass
class ChangeSet:
    arn: str
    stack_name: str
    kind: str  # CREATE or UPDATE
    changes: list[dict[str, Any]] = field(default_factory=list)
    empty: bool = False
    name: str = ""


def create_change_set(target: AwsTarget, stack_name: str, template_url: str | None, parameters: Mapping[str, str],
                      capabilities: Sequence[str], say: Callable[[str], None] = lambda _: None) -> ChangeSet:
    """A change set of ours, computed and described. What an earlier run of ours left on the stack (pending change
    sets, the empty shell of an interrupted first deploy) is removed first; a run of ours still in flight is refused.
    `template_url` None: the stack's deployed template (UsePreviousTemplate), only its parameters change."""
    cfn = target.client("cloudformation")
    with busy_means("reading the stack", "nothing was changed"):
        for line in runs.settle(cfn, stack_name):
            say(line)
        status = check_deployable(cfn, stack_name)
        kind = "CREATE" if status in (None, "REVIEW_IN_PROGRESS") else "UPDATE"
        print_ = fingerprint(template_url or "the deployed template", parameters)
        if kind == "UPDATE" and _deployed_fingerprint(cfn, stack_name) == print_:
            return ChangeSet(arn="", stack_name=stack_name, kind=kind, empty=True)
    name = runs.new_name()
    request = dict(
        StackName=stack_name, ChangeSetName=name, ChangeSetType=kind,
        **({"TemplateURL": template_url} if template_url else {"UsePreviousTemplate": True}),
        Parameters=[{"ParameterKey": k, "ParameterValue": str(v)} for k, v in sorted(parameters.items())],
        Capabilities=list(capabilities), IncludeNestedStacks=True, Tags=[{"Key": FINGERPRINT_TAG, "Value": print_}],
        ClientToken=name, Description=runs.description(),
    )
    left = f"a change set {name} may be left on {stack_name}; the next deploy or plan removes it"
    with busy_means("CreateChangeSet", left):
        arn = _send_change_set(cfn, request)
        runs.refuse_if_raced(cfn, stack_name, name, arn)
        desc = _wait_change_set(cfn, arn)
    cs = ChangeSet(arn=arn, stack_name=stack_name, kind=kind, name=name)
    if desc["Status"] == "FAILED":
        reason = " ".join(str(desc.get("StatusReason", "")).split())
        with busy_means("DeleteChangeSet", left):
            _delete_change_set(cfn, arn)
        if any(s in reason for s in NO_CHANGES):
            cs.empty = True
            return cs
        raise DeployError(f"CloudFormation refused the change set of {stack_name}: {reason}")
    with busy_means("DescribeChangeSet", left):
        cs.changes = _all_changes(cfn, arn, desc)
    return cs


def _send_change_set(cfn: Any, request: dict[str, Any]) -> str:
    """CreateChangeSet, safe to repeat: botocore retries it with the same ClientToken and name, and an answer
    lost on the way makes the retry meet our own change set ("already exists"), which is then ours to use."""
    try:
        return str(cfn.create_change_set(**request)["Id"])
    except botocore.exceptions.ClientError as exc:
        code = exc.response["Error"].get("Code", "")
        if code in ("AlreadyExistsException", "AlreadyExists"):
            found = runs.find(cfn, request["StackName"], request["ChangeSetName"])
            if found:
                return found
        if code in ("InsufficientCapabilitiesException", "InsufficientCapabilities"):
            raise DeployError(f"CloudFormation wants more capabilities than stack-cfn derived ({', '.join(request['Capabilities']) or 'none'}): "
                              f"{exc.response['Error'].get('Message', '')}; please report it") from None
        if is_busy(exc):
            raise
        raise DeployError(f"CloudFormation refused the change set of {request['StackName']}: {message_of(exc)}") from None


def _delete_change_set(cfn: Any, arn: str) -> None:
    """DeleteChangeSet, safe to repeat: one already gone is what was asked for."""
    try:
        cfn.delete_change_set(ChangeSetName=arn)
    except botocore.exceptions.ClientError as exc:
        if not runs.is_gone(exc):
            raise


def list_change_sets(cfn: Any, stack_name: str) -> list[dict[str, Any]]:
    summaries, token = [], None
    while True:
        page = cfn.list_change_sets(StackName=stack_name, **({"NextToken": token} if token else {}))
        summaries += page.get("Summaries", [])
        token = page.get("NextToken")
        if not token:  # moto 5.2.5 answers every stack's change sets: keep the stack's own
            return [s for s in summaries if s.get("StackName") in (None, stack_name) or s.get("StackId") == stack_name]


def fingerprint(template_url: str, parameters: Mapping[str, str]) -> str:
    """What was deployed: the (content-addressed) root URL and the parameters."""
    blob = json.dumps([template_url, sorted((k, str(v)) for k, v in parameters.items())])
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def _deployed_fingerprint(cfn: Any, stack_name: str) -> str:
    stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
    return {t["Key"]: t["Value"] for t in stack.get("Tags", [])}.get(FINGERPRINT_TAG, "")


def _wait_change_set(cfn: Any, arn: str, timeout: float = 600) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        desc = cfn.describe_change_set(ChangeSetName=arn)
        if desc["Status"] in ("CREATE_COMPLETE", "FAILED"):
            return desc
        if time.monotonic() > deadline:
            raise DeployError(f"the change set is still {desc['Status']} after {timeout:.0f} s; look at it with aws cloudformation describe-change-set --change-set-name {arn}")
        time.sleep(1)


def _all_changes(cfn: Any, arn: str, first: dict[str, Any]) -> list[dict[str, Any]]:
    changes = [c["ResourceChange"] for c in first.get("Changes", [])]
    token = first.get("NextToken")
    while token:
        page = cfn.describe_change_set(ChangeSetName=arn, NextToken=token)
        changes += [c["ResourceChange"] for c in page.get("Changes", [])]
        token = page.get("NextToken")
    for change in list(changes):
        nested = change.get("ChangeSetId")
        if change.get("ResourceType") == "AWS::CloudFormation::Stack" and nested and nested != arn:
            try:
                sub = cfn.describe_change_set(ChangeSetName=nested)
            except botocore.exceptions.ClientError:
                continue
            for c in _all_changes(cfn, nested, sub):
                c = dict(c)
                c["LogicalResourceId"] = f"{change['LogicalResourceId']}/{c['LogicalResourceId']}"
                changes.append(c)
    return changes


def discard_plan(target: AwsTarget, stack_name: str, cs: ChangeSet | None, uploaded: Uploaded | None, stack_existed: bool) -> list[str]:
    """Remove what a plan made: its change set, the empty stack a CREATE change set leaves
    (REVIEW_IN_PROGRESS), the templates it uploaded and a bucket it created. Returns what could not be removed."""
    cfn, s3 = target.client("cloudformation"), target.client("s3")
    steps: list[tuple[str, Callable[[], object]]] = []
    if cs is not None and cs.arn:
        steps.append((f"change set {cs.name or cs.arn}", lambda: _delete_change_set(cfn, cs.arn)))
    if not stack_existed:
        steps.append((f"stack {stack_name} (REVIEW_IN_PROGRESS)", lambda: _delete_review_stack(cfn, stack_name)))
    if uploaded is not None:
        for key in uploaded.uploaded:
            steps.append((f"s3://{uploaded.bucket}/{key}", functools.partial(s3.delete_object, Bucket=uploaded.bucket, Key=key)))
        if uploaded.created_bucket:
            steps.append((f"bucket s3://{uploaded.bucket}", lambda: s3.delete_bucket(Bucket=uploaded.bucket)))
    problems = []
    for what, step in steps:
        try:
            step()
        except AwsError as exc:  # an HTML 500 is a ResponseParserError, not a BotoCoreError
            problems.append(f"the plan could not remove {what} ({'AWS is busy' if is_busy(exc) else message_of(exc)}); {_left_how(what)}")
    return problems


def _left_how(what: str) -> str:
    """What becomes of something a plan could not remove: change sets and empty stacks are removed by the next plan or
    deploy (ship/runs.py); S3 is not, as nothing tells a later run that a plan made it."""
    if what.startswith("bucket "):
        return f"remove it when you do not use it: aws s3 rb {what.removeprefix('bucket ')} --force"
    if what.startswith("s3://"):
        return "harmless: a later deploy reuses the content-addressed template; or remove it: aws s3 rm " + what
    return "the next plan or deploy removes it"


def _delete_review_stack(cfn: Any, stack_name: str) -> None:
    if stack_status(cfn, stack_name) == "REVIEW_IN_PROGRESS":
        cfn.delete_stack(StackName=stack_name)


StackEvent = dict[str, Any]


def execute(
    target: AwsTarget, cs: ChangeSet, on_event: Callable[[StackEvent], None] | None = None, timeout: float = 3600
) -> str:
    """Execute a change set and follow the stack's events to a final status."""
    return execute_many(target, [cs], on_event, timeout)[cs.stack_name]


def start(target: AwsTarget, cs: ChangeSet) -> Any:
    """ExecuteChangeSet, safe to repeat (a ClientRequestToken; a retry whose first answer was lost finds the change
    set executing, which is ours). Returns the time of the stack's last event before, to follow from."""
    cfn = target.client("cloudformation")
    left = f"the change set {cs.name or cs.arn} of {cs.stack_name} was not executed (left pending); the next deploy removes it"
    with busy_means("ExecuteChangeSet", left):
        since = _latest_event_time(cfn, cs.stack_name)
        try:
            cfn.execute_change_set(ChangeSetName=cs.arn, ClientRequestToken=f"{cs.name or 'stack-cfn'}-x"[:128])
        except AwsError:
            # The retry met our own execution (its first answer was lost), or the retries ran out on a request that
            # may have gone through all the same: the change set says which.
            if not _already_executing(cfn, cs.arn):
                raise
    return since


def _already_executing(cfn: Any, arn: str) -> bool:
    try:
        status = cfn.describe_change_set(ChangeSetName=arn).get("ExecutionStatus")
    except AwsError:
        return False
    return status in ("EXECUTE_IN_PROGRESS", "EXECUTE_COMPLETE")


def _latest_event_time(cfn: Any, stack_name: str) -> Any:
    try:
        events = cfn.describe_stack_events(StackName=stack_name)["StackEvents"]
    except botocore.exceptions.ClientError:
        return None
    return events[0]["Timestamp"] if events else None


# A change set that was executed but has not started: CloudFormation moves the stack out of
# REVIEW_IN_PROGRESS within seconds; one that stays there did not take the change set.
REVIEW_GRACE_SECONDS = 60


def follow_many(target: AwsTarget, stacks: Mapping[str, Any], on_event: Callable[[StackEvent], None] | None = None,
                timeout: float = 3600, tick: Callable[[], None] | None = None) -> dict[str, str]:
    """Follow stacks (name -> time of their last event before the operation) at once, to a final status each;
    `tick` (ship/watch.Watcher.tick) runs once a round, in the same loop."""
    cfn = target.client("cloudformation")
    seen: set[str] = set()
    started = time.monotonic()
    deadline = started + timeout
    final: dict[str, str] = {}
    watch = f"it keeps going in CloudFormation; watch it with aws cloudformation describe-stack-events --stack-name {next(iter(stacks))}"
    while True:
        for stack_name, since in stacks.items():
            if stack_name not in final:
                with busy_means("DescribeStacks", watch):
                    status = _poll(cfn, stack_name, since, seen, on_event, time.monotonic() - started)
                if not BUSY.search(status):
                    final[stack_name] = status
        if len(final) == len(stacks):
            return final
        if tick is not None:
            tick()
        if time.monotonic() > deadline:
            busy = [name for name in stacks if name not in final]
            raise DeployError(f"stack {', '.join(busy)} still in progress after {timeout / 60:.0f} min (--timeout); it keeps going: "
                              f"watch it with aws cloudformation describe-stack-events --stack-name {busy[0]}")
        time.sleep(2)


def _poll(cfn: Any, stack_name: str, since: Any, seen: set[str], on_event: Callable[[StackEvent], None] | None, waited: float) -> str:
    status = stack_status(cfn, stack_name) or "DELETE_COMPLETE"
    if status == "REVIEW_IN_PROGRESS" and waited > REVIEW_GRACE_SECONDS:
        raise DeployError(f"stack {stack_name} is still REVIEW_IN_PROGRESS {REVIEW_GRACE_SECONDS} s after its change set was executed: "
                          f"nothing started; look at its change sets (aws cloudformation list-change-sets --stack-name {stack_name})")
    for ev in _events_since(cfn, stack_name, since):
        if ev["EventId"] not in seen:
            seen.add(ev["EventId"])
            if on_event:
                on_event(ev)
    return status


def execute_many(target: AwsTarget, change_sets: list[ChangeSet], on_event: Callable[[StackEvent], None] | None = None,
                 timeout: float = 3600) -> dict[str, str]:
    """Execute change sets of independent stacks together (service groups) and follow them all."""
    since = {cs.stack_name: start(target, cs) for cs in change_sets}
    return follow_many(target, since, on_event, timeout)


LIVE = ["CREATE_IN_PROGRESS", "CREATE_FAILED", "CREATE_COMPLETE", "ROLLBACK_IN_PROGRESS", "ROLLBACK_FAILED", "ROLLBACK_COMPLETE",
        "DELETE_IN_PROGRESS", "DELETE_FAILED", "UPDATE_IN_PROGRESS", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "UPDATE_COMPLETE",
        "UPDATE_FAILED", "UPDATE_ROLLBACK_IN_PROGRESS", "UPDATE_ROLLBACK_FAILED", "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
        "UPDATE_ROLLBACK_COMPLETE", "REVIEW_IN_PROGRESS", "IMPORT_IN_PROGRESS", "IMPORT_COMPLETE", "IMPORT_ROLLBACK_IN_PROGRESS",
        "IMPORT_ROLLBACK_FAILED", "IMPORT_ROLLBACK_COMPLETE"]


def group_stacks(target: AwsTarget, root_stack: str) -> list[str]:
    """The service-group stacks of a root that exist (`<root>-services-<n>`), by number."""
    cfn = target.client("cloudformation")
    names = [s["StackName"] for page in cfn.get_paginator("list_stacks").paginate(StackStatusFilter=LIVE) for s in page["StackSummaries"]
             if stack_names.is_group_stack(s["StackName"], root_stack) and not s.get("ParentId")]
    return sorted(set(names), key=stack_names.group_number)


def destroy_many(target: AwsTarget, stacks: list[str], on_event: Callable[[StackEvent], None] | None = None, timeout: float = 3600) -> dict[str, str]:
    """Delete independent stacks together and follow them all."""
    cfn = target.client("cloudformation")
    with busy_means("DeleteStack", f"the deletion of {', '.join(stacks)} may have started or not"):
        since = {name: _latest_event_time(cfn, name) for name in stacks}
        for name in stacks:
            cfn.delete_stack(StackName=name)  # safe to repeat: deleting a stack being deleted is accepted
    return follow_many(target, since, on_event, timeout)


def _events_since(cfn: Any, stack_name: str, since: Any) -> list[StackEvent]:
    try:
        events = cfn.describe_stack_events(StackName=stack_name)["StackEvents"]
    except botocore.exceptions.ClientError:
        return []
    fresh = [e for e in events if since is None or e["Timestamp"] > since]
    return list(reversed(fresh))


def failure_reasons(target: AwsTarget, stack_name: str, limit: int = 5) -> list[str]:
    """The first failing events, oldest first, including nested stacks'."""
    cfn = target.client("cloudformation")
    reasons = []
    for ev in _events_since(cfn, stack_name, None):
        if ev.get("ResourceStatus", "").endswith("FAILED") and ev.get("ResourceStatusReason"):
            reasons.append(f"{ev['LogicalResourceId']} ({ev['ResourceType']}): {ev['ResourceStatusReason']}")
    return reasons[:limit]


# ---------------------------------------------------------------- outputs


def nested_stacks(cfn: Any, stack_name: str) -> dict[str, str]:
    """Logical id -> physical stack id of the stack's nested stacks."""
    resources = cfn.describe_stack_resources(StackName=stack_name)["StackResources"]
    return {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in resources
        if r.get("ResourceType") == "AWS::CloudFormation::Stack" and r.get("PhysicalResourceId")
    }


def stack_outputs(cfn: Any, stack_name: str) -> dict[str, str]:
    stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
    return {o["OutputKey"]: o.get("OutputValue") for o in stack.get("Outputs", []) if o.get("OutputValue") is not None}


def read_outputs(target: AwsTarget, stack_name: str) -> dict[str, str]:
    """The root's outputs in the seed's order, BastionIp first, then any others by name."""
    cfn = target.client("cloudformation")
    if stack_status(cfn, stack_name) is None:
        raise DeployError(f"stack {stack_name} does not exist; deploy it first (stack-cfn deploy)")
    outputs = stack_outputs(cfn, stack_name)
    order = [Root.Outputs.BastionIp.name] + [o.name for o in Root.outputs() if o is not Root.Outputs.BastionIp]
    ordered = {k: outputs[k] for k in order if k in outputs}
    ordered.update({k: v for k, v in sorted(outputs.items()) if k not in ordered})
    return ordered
