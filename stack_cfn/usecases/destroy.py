"""`destroy`: the service groups first (they import the root's exports), together; then the root."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from stack_cfn import app
from stack_cfn.app import AwsOptions, StackFile
from stack_cfn.errors import DeployError
from stack_cfn.ship.report import Progress

Confirm = Callable[[str, str], bool]  # (question, the answer that confirms) -> confirmed


@dataclass(frozen=True)
class DestroyRequest:
    source: StackFile
    aws: AwsOptions
    yes: bool = False  # delete without asking
    confirm: Confirm | None = None  # asks a person (the CLI's prompt); None: nobody can answer (no terminal)


@dataclass(frozen=True)
class DestroyResult:
    stack: str
    also: str  # " and its service groups ..." when there were some
    deleted: bool  # False: the person asked did not confirm; nothing was deleted
    already: str = ""  # the stack was deleted before this run (a rerun after a lost answer): when; nothing left to do


def destroy(request: DestroyRequest, out: Progress) -> DestroyResult:
    """It names the stack it deletes and where the name came from; with nobody to ask it deletes only with --yes (docs/cli.md)."""
    from stack_cfn.ship import deploy, teardown

    cfg = app.optional_config(request.source)
    stack = app.stack_name_for(request.source, request.aws, cfg)  # an explicit empty name was refused at the edge: it never means the default
    named_by = "--stack-name" if request.aws.stack_name is not None else f"<name>-<environment> of {request.source.path}"
    if not request.yes and request.confirm is None:
        raise DeployError(f"destroying stack {stack} (named by {named_by}) needs confirmation: run it in a terminal, or pass --yes")
    target = app.target_for(request.source, request.aws, cfg, out)
    cfn = target.client("cloudformation")
    if deploy.stack_status(cfn, stack) is None:
        when = deploy.deleted_at(cfn, stack)
        if when is None:
            raise DeployError(f"stack {stack} does not exist; nothing to destroy")
        return DestroyResult(stack, "", deleted=True, already=f"at {when}" if when else "its time not reported")
    groups = deploy.group_stacks(target, stack)
    also = f" and its service groups {', '.join(groups)}" if groups else ""
    out.info(f"deleting stack {stack}{also} at {target.where} (named by {named_by})")
    question = f"Delete stack {stack}{also} and everything in them (the log bucket is kept)? Type the stack name: "
    if not request.yes and not (request.confirm is not None and request.confirm(question, stack)):
        return DestroyResult(stack, also, deleted=False)
    timeout = request.aws.timeout
    if groups:
        app.delete_stacks(out, target, groups, f"waiting for {len(groups)} service group(s) to be deleted", timeout)
    kept = f"{stack} is not deleted yet; destroy again" if groups else "nothing was deleted"
    with out.step("clearing what would keep the cluster from being deleted", kept):
        for line in teardown.unblock(target, stack, kept):
            out.info(line)
    app.delete_stacks(out, target, [stack], f"waiting for {stack} to be deleted", timeout)
    return DestroyResult(stack, also, deleted=True)
