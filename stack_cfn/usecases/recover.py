"""`recover`: move stuck stacks (the root and its service groups) to a state the next deploy can start from.

UPDATE_ROLLBACK_FAILED: name the resources blocking the rollback, continue it skipping those confirmed, wait for
UPDATE_ROLLBACK_COMPLETE. ROLLBACK_COMPLETE (a failed first create): delete it, naming what stays (DeletionPolicy
Retain / Snapshot). Never deletes data: nothing is emptied, no snapshot skipped. Rules and sources: ship/recover.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from stack_cfn import app
from stack_cfn.app import AwsOptions, StackFile
from stack_cfn.errors import DeployError
from stack_cfn.ship.recover import Action, Blocker, Kept
from stack_cfn.ship.report import Progress

if TYPE_CHECKING:
    from stack_cfn.ship.aws import AwsTarget

Ask = Callable[[str], bool]  # a yes/no question to a person -> yes


@dataclass(frozen=True)
class RecoverRequest:
    source: StackFile
    aws: AwsOptions
    skip: tuple[str, ...] = ()  # --skip: the blocking resources to skip, as ResourcesToSkip names them
    yes: bool = False  # skip every blocking resource named, without asking
    ask: Ask | None = None  # asks per blocking resource (the CLI's prompt); None: nobody can answer
    token: str | None = None  # ContinueUpdateRollback's ClientRequestToken (default: a new one per run)


@dataclass(frozen=True)
class StackRecovery:
    stack: str
    status: str | None  # before
    action: Action
    line: str
    blockers: tuple[Blocker, ...] = ()
    skipped: tuple[str, ...] = ()
    kept: tuple[Kept, ...] = ()
    final: str | None = None  # after, when recover acted

    @property
    def ok(self) -> bool:
        return self.action in (Action.FINE, Action.MISSING) or self.final in ("UPDATE_ROLLBACK_COMPLETE", "DELETE_COMPLETE")


@dataclass(frozen=True)
class RecoverResult:
    stack: str
    stacks: tuple[StackRecovery, ...]

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.stacks)


def recover(request: RecoverRequest, out: Progress) -> RecoverResult:
    """The service groups first (they import the root's exports), then the root."""
    from stack_cfn.ship import deploy

    cfg = app.optional_config(request.source)
    stack = app.stack_name_for(request.source, request.aws, cfg)
    target = app.target_for(request.source, request.aws, cfg, out)
    names = [*deploy.group_stacks(target, stack), stack]
    return RecoverResult(stack, tuple(_one(request, out, target, name) for name in names))


def _one(request: RecoverRequest, out: Progress, target: AwsTarget, name: str) -> StackRecovery:
    from stack_cfn.ship import deploy, recover

    cfn = target.client("cloudformation")
    status = deploy.stack_status(cfn, name)
    action, line = recover.decide(name, status)
    out.info(line)
    if action is Action.CONTINUE_ROLLBACK:
        return _continue(request, out, target, name, status, line)
    if action is Action.DELETE:
        kept = tuple(recover.retained(cfn, name))
        for k in kept:
            out.info(f"  kept (DeletionPolicy {k.policy}): {k.logical_id} ({k.resource_type}) {k.physical_id}".rstrip())
        app.delete_stacks(out, target, [name], f"deleting {name} (ROLLBACK_COMPLETE)", request.aws.timeout)
        return StackRecovery(name, status, action, line, kept=kept, final="DELETE_COMPLETE")
    return StackRecovery(name, status, action, line)


def chosen(request: RecoverRequest, found: list[Blocker]) -> list[str]:
    """The blocking resources to skip: --skip's (each must be one of those found), all with --yes, else those the person confirms."""
    known = [b.skip_id for b in found]
    if request.skip:
        unknown = [s for s in request.skip if s not in known]
        if unknown:
            raise DeployError(f"--skip {unknown[0]}: not a resource blocking the rollback; those are: {', '.join(known) or 'none'}")
        return list(request.skip)
    if request.yes:
        return known
    if request.ask is None:
        raise DeployError(f"the rollback is blocked by {', '.join(known)}: run recover in a terminal to choose, "
                          f"or pass --skip LOGICAL_ID (repeatable) or --yes to skip them all")
    ask = request.ask
    return [b.skip_id for b in found if ask(f"Skip {b.skip_id} ({b.resource_type}) in the rollback of {b.stack}? Its resource stays "
                                            f"as it is, out of step with the template. Reason it failed: {b.reason} [y/N] ")]


def _continue(request: RecoverRequest, out: Progress, target: AwsTarget, name: str, status: str | None, line: str) -> StackRecovery:
    from stack_cfn.ship import deploy, recover

    cfn = target.client("cloudformation")
    found = recover.blockers(cfn, name)
    for b in found:
        out.info(f"  blocking: {b.skip_id} ({b.resource_type}) in {b.stack}: {b.reason}")
    skip = chosen(request, found) if found else []
    token = request.token or recover.rollback_token()
    since = recover.latest_event_time(cfn, name)
    with out.step(f"continuing the rollback of {name}" + (f", skipping {', '.join(skip)}" if skip else ""),
                  f"the rollback may have been continued; watch it: aws cloudformation describe-stack-events --stack-name {name}"):
        recover.continue_rollback(cfn, name, skip, token)
    timeout = request.aws.timeout
    final = out.follow_many(lambda on_event: deploy.follow_many(target, {name: since}, on_event, timeout * 60),
                            f"{name} to reach UPDATE_ROLLBACK_COMPLETE", timeout)[name]
    if final != "UPDATE_ROLLBACK_COMPLETE":
        reasons = deploy.failure_reasons(target, name)
        out.info(f"{name} ended {final}: " + ("; ".join(reasons) or "see its events") + "; run recover again to skip what still blocks it")
    return StackRecovery(name, status, Action.CONTINUE_ROLLBACK, line, tuple(found), tuple(skip), final=final)
