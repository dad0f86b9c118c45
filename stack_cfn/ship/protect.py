"""Stack policies on the deployed stacks: set by deploy on every stack holding a stateful resource, nested ones
by their physical id; relaxed for one deploy by `--allow-replace NAME` and restored when it ends, however it ends.

The documents and the rules behind them are in blueprints/stack_policy.py. SetStackPolicy on a nested stack is
allowed (it is a stack of its own, addressed by its id); a parent's policy does not reach it.
"""

from __future__ import annotations

import argparse
import functools
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from stack_cfn.blueprints import stack_policy as sp
from stack_cfn.errors import DeployError

if TYPE_CHECKING:
    from stack_cfn.blueprints.compiler import Compiled
    from stack_cfn.model.config import StackConfig
    from stack_cfn.ship.aws import AwsTarget
    from stack_cfn.ship.deploy import ChangeSet
    from stack_cfn.ship.report import Reporter

# A stack that can take a policy: it exists and is not a shell or a failed create.
SETTLED = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE", "IMPORT_ROLLBACK_COMPLETE"}


def aliases(cfg: StackConfig | None) -> dict[str, str]:
    """The stack file's names of databases and IAM users -> their nested stacks' logical ids."""
    if cfg is None:
        return {}
    return {**{u.name: u.logical_id for u in cfg.iam_users}, **{d.name: d.logical_id for d in cfg.databases}}


def lifted_guards(compiled: Compiled, names: Iterable[str], cfg: StackConfig | None) -> list[sp.Guard]:
    """The guards `--allow-replace` lifts; a name that protects nothing is a one-line error before anything is sent."""
    every = [g for top in compiled.stacks for g in sp.guards(compiled.files, top)]
    chosen, unknown = sp.select(every, names, aliases(cfg))
    if unknown:
        known = sorted({*aliases(cfg), *(g.path for g in every if "/" not in g.path)})
        raise DeployError(f"--allow-replace: {', '.join(unknown)} is not a protected resource; name a database, IAM user or protected "
                          f"logical id ({', '.join(known[:8])}{' ...' if len(known) > 8 else ''})")
    return chosen


def _physical_ids(cfn: Any, stack: str, paths: Iterable[str]) -> dict[str, str]:
    """Path of a (nested) stack under `stack` -> its stack id; "" is `stack` itself. Paths whose stack does not exist are left out."""
    from stack_cfn.ship.deploy import nested_stacks

    found = {"": stack}
    children: dict[str, dict[str, str]] = {}
    for path in sorted(paths, key=lambda p: p.count("/")):
        if not path:
            continue
        parent, _, logical_id = path.rpartition("/")
        if parent not in found:
            continue
        if parent not in children:
            children[parent] = nested_stacks(cfn, found[parent])
        if logical_id in children[parent]:
            found[path] = children[parent][logical_id]
    return found


def apply_stack_policies(target: AwsTarget, compiled: Compiled, stack: str, lifted: Iterable[sp.Guard] = ()) -> dict[str, str]:
    """Set the policy of every settled stack of the deploy (top-level and nested) that holds a protected resource,
    without the `lifted` guards; returns stack id -> the policy body set."""
    from stack_cfn.ship.deploy import stack_status

    cfn = target.client("cloudformation")
    lifted = list(lifted)
    done: dict[str, str] = {}
    for top in compiled.stacks:
        name = compiled.stack_name(top, stack)
        if stack_status(cfn, name) not in SETTLED:
            continue
        documents = sp.policies(compiled.files, top, lifted)
        for path, physical in _physical_ids(cfn, name, documents).items():
            body = sp.policy_body(documents[path])
            cfn.set_stack_policy(StackName=physical, StackPolicyBody=body)
            done[physical] = body
    return done


def blocked_by_policy(compiled: Compiled, top: str, changes: Iterable[Mapping[str, object]]) -> list[str]:
    """What a change set of the top-level template `top` would do that the stack policies deny."""
    return sp.blocked(changes, sp.guards(compiled.files, top))


def say_blocked(out: Reporter, compiled: Compiled, top: str, cs: ChangeSet) -> None:
    """`plan`: one line per change a stack policy would refuse, and how to allow it once."""
    for line in blocked_by_policy(compiled, top, cs.changes):
        out.info(f"!! {cs.stack_name}: {line}; if that is wanted, deploy with --allow-replace {line.split(' ', 1)[0]}")


# ---------------------------------------------------------------- deploy: relax, execute, restore


@dataclass
class Guarding:
    target: AwsTarget
    compiled: Compiled
    stack: str
    lifted: list[sp.Guard] = field(default_factory=list)


_ACTIVE: ContextVar[list[Guarding] | None] = ContextVar("stack_cfn_guarding", default=None)


def guard_deploy(args: argparse.Namespace, out: Reporter, target: AwsTarget, compiled: Compiled, cfg: StackConfig | None, stack: str) -> None:
    """In `deploy`, before anything executes: the stacks that exist get their policies, relaxed for the guards
    `--allow-replace` names; `guarded` sets the full policies again when the deploy ends (done, failed or interrupted)."""
    lifted = lifted_guards(compiled, getattr(args, "allow_replace", None) or [], cfg)
    active = _ACTIVE.get()
    if active is None:
        raise RuntimeError("guard_deploy outside a @guarded command")
    active.append(Guarding(target, compiled, stack, lifted))
    if lifted:
        out.info(f"--allow-replace: the stack policies allow replacing or removing {', '.join(g.path for g in lifted)} for this deploy only")
    with out.step("setting the stack policies", "nothing was deployed"):
        apply_stack_policies(target, compiled, stack, lifted)


def guarded(command: Callable[..., int]) -> Callable[..., int]:
    """Decorates a deploying command: whatever way it ends, every settled stack it guarded gets its full policies back."""

    @functools.wraps(command)
    def run(args: argparse.Namespace, out: Reporter, *rest: Any, **named: Any) -> int:
        if _ACTIVE.get() is not None:  # a deploy inside a guarded command (up -> deploy): the outer one restores
            return command(args, out, *rest, **named)
        token = _ACTIVE.set([])
        failed = True
        try:
            code = command(args, out, *rest, **named)
            failed = False
            return code
        finally:
            guarding = _ACTIVE.get() or []
            _ACTIVE.reset(token)
            _restore(out, guarding, failed)

    return run


def _restore(out: Reporter, guarding: list[Guarding], failed: bool) -> None:
    for g in guarding:
        try:
            apply_stack_policies(g.target, g.compiled, g.stack)
        except Exception as exc:  # the deploy's own error is the one to show; this one is said beside it
            if not failed:
                raise
            out.info(f"warning: the stack policies of {g.stack} could not be set back ({type(exc).__name__}: {exc}); deploy again to set them")
            continue
        if g.lifted:
            out.info(f"stack policies of {g.stack} restored: {', '.join(x.path for x in g.lifted)} protected again")
