"""Stack policies on the deployed stacks: set by deploy on every stack holding a stateful resource, nested ones
by their physical id; relaxed for one deploy by `--allow-replace NAME` and restored when it ends, however it ends.

The documents and the rules behind them are in blueprints/stack_policy.py. SetStackPolicy on a nested stack is
allowed (it is a stack of its own, addressed by its id); a parent's policy does not reach it.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from stack_cfn.blueprints import stack_policy as sp
from stack_cfn.errors import DeployError

if TYPE_CHECKING:
    from stack_cfn.blueprints.compiler import Compiled
    from stack_cfn.model.config import StackConfig
    from stack_cfn.ship.aws import AwsTarget
    from stack_cfn.ship.deploy import ChangeSet
    from stack_cfn.ship.report import Progress

# A stack that can take a policy: it exists and is not a shell or a failed create.
SETTLED = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE", "IMPORT_ROLLBACK_COMPLETE"}


def candidates(name: str, cfg: StackConfig | None) -> set[str]:
    """The logical ids `--allow-replace NAME` may mean: NAME itself, or the nested stack of a database or IAM user of that
    name (in the stack file, or removed from it: its stack still exists)."""
    from types import SimpleNamespace

    from stack_cfn.model.data import DatabaseConfig, IamUserConfig

    named = SimpleNamespace(name=name)
    found = {name, DatabaseConfig.logical_id.fget(named), IamUserConfig.logical_id.fget(named)}  # type: ignore[attr-defined]  # the property's function, on a stand-in with only a name
    members: list[DatabaseConfig | IamUserConfig] = [*cfg.databases, *cfg.iam_users] if cfg else []
    return found | {x.logical_id for x in members if x.name == name}


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


def apply_stack_policies(target: AwsTarget, compiled: Compiled, stack: str) -> dict[str, str]:
    """Set the policy of every settled stack of the deploy (top-level and nested) that holds a protected resource;
    returns stack id -> the policy body set."""
    from stack_cfn.ship.deploy import stack_status

    cfn = target.client("cloudformation")
    done: dict[str, str] = {}
    for top in compiled.stacks:
        name = compiled.stack_name(top, stack)
        if stack_status(cfn, name) not in SETTLED:
            continue
        documents = sp.policies(compiled.files, top)
        for path, physical in _physical_ids(cfn, name, documents).items():
            body = sp.policy_body(documents[path])
            cfn.set_stack_policy(StackName=physical, StackPolicyBody=body)
            done[physical] = body
    return done


def deployed_policies(target: AwsTarget, stack: str, changes: Iterable[Mapping[str, object]]) -> dict[str, dict | None]:
    """The stack policies in force: of `stack` ("") and of each nested stack a change is in, by path."""
    import json

    cfn = target.client("cloudformation")
    paths = {"", *(str(c.get("LogicalResourceId", "")).rpartition("/")[0] for c in changes)}
    found: dict[str, dict | None] = {}
    for path, physical in _physical_ids(cfn, stack, paths).items():
        body = cfn.get_stack_policy(StackName=physical).get("StackPolicyBody")
        found[path] = json.loads(body) if body else None
    return found


def blocked_by_policy(target: AwsTarget, cs: ChangeSet) -> list[str]:
    """What a change set would do that the policies set on its stacks deny (those CloudFormation evaluates)."""
    if cs.empty or cs.kind == "CREATE":
        return []
    return sp.blocked(cs.changes, deployed_policies(target, cs.stack_name, cs.changes))


def say_blocked(out: Progress, target: AwsTarget, cs: ChangeSet) -> None:
    """`plan`: one line per change a stack policy would refuse, and how to allow it once."""
    for line in blocked_by_policy(target, cs):
        out.info(f"!! {cs.stack_name}: {line}; the deploy would fail and roll back. If that is wanted: "
                 f"stack-cfn deploy --allow-replace {line.split(' ', 1)[0].split('/')[0]}")


# ---------------------------------------------------------------- deploy: relax, execute, restore


def relaxed(document: Mapping[str, Any], path: str, names: set[str]) -> dict[str, Any]:
    """A deployed policy without the denials `--allow-replace` lifts: of a resource named, and every one of a nested stack named."""
    if names & set(path.split("/")):
        return sp.policy([])
    statements = []
    for statement in sp.statements(document):
        if statement.get("Effect") == "Deny" and "Resource" in statement:
            kept = [r for r in sp.listed(statement["Resource"]) if r.removeprefix("LogicalResourceId/") not in names]
            if not kept:
                continue
            statement = {**statement, "Resource": kept if isinstance(statement["Resource"], list) else kept[0]}
        statements.append(statement)
    return {**document, "Statement": statements}


@dataclass
class Guarding:
    """One deploy's policies: what was in force before it (stack id -> body) where `--allow-replace` relaxed them."""

    target: AwsTarget
    compiled: Compiled
    stack: str
    relaxed_from: dict[str, str] = field(default_factory=dict)


_ACTIVE: ContextVar[list[Guarding] | None] = ContextVar("stack_cfn_guarding", default=None)


def in_force(target: AwsTarget, compiled: Compiled, stack: str) -> dict[tuple[str, str], tuple[str, str]]:
    """(top-level stack, path) -> (stack id, policy body) of every settled stack of the deploy and its nested stacks that has a policy."""
    from stack_cfn.ship.deploy import nested_stacks, stack_status

    cfn = target.client("cloudformation")
    found = {}
    for top in compiled.stacks:
        name = compiled.stack_name(top, stack)
        if stack_status(cfn, name) not in SETTLED:
            continue
        for path, physical in {"": name, **nested_stacks(cfn, name)}.items():
            body = cfn.get_stack_policy(StackName=physical).get("StackPolicyBody")
            if body:
                found[(name, path)] = (physical, body)
    return found


def guard_deploy(requested: Sequence[str], out: Progress, target: AwsTarget, compiled: Compiled, cfg: StackConfig | None, stack: str) -> None:
    """In `deploy`, before anything executes. The policies in force stay (they protect what is deployed, including what
    this deploy removes); `--allow-replace NAME` relaxes them for NAME until the deploy ends. `guarded` then sets the new
    full policies after a deploy that succeeded, or puts back the relaxed ones after one that did not."""
    active = _ACTIVE.get()
    if active is None:
        raise RuntimeError("guard_deploy outside a @guarded command")
    guarding = Guarding(target, compiled, stack)
    active.append(guarding)
    if not requested:
        return
    cfn = target.client("cloudformation")
    with out.step("reading the stack policies", "nothing was deployed"):
        current = in_force(target, compiled, stack)
    names = {n for name in requested for n in candidates(name, cfg)}
    changes = {physical: (body, sp.policy_body(relaxed(json.loads(body), path, names))) for (_, path), (physical, body) in current.items()}
    changes = {physical: pair for physical, pair in changes.items() if pair[0] != pair[1]}
    lifting = [name for name in requested if any(candidates(name, cfg) & _denied_ids(json.loads(b), p) for (_, p), (_, b) in current.items())]
    unknown = [name for name in requested if name not in lifting]
    if unknown:
        raise DeployError(f"--allow-replace: {', '.join(unknown)} is not protected by the stack policies in force; name a database or IAM user "
                          "of the stack file or a protected logical id (stack-cfn plan names what the policies would block)")
    with out.step("relaxing the stack policies for this deploy", "the policies are being set back"):
        for physical, (before, after) in sorted(changes.items()):
            guarding.relaxed_from[physical] = before
            cfn.set_stack_policy(StackName=physical, StackPolicyBody=after)
    out.info(f"--allow-replace: the stack policies let this deploy replace or remove {', '.join(requested)}; they are set back when it ends")


def _denied_ids(document: Mapping[str, Any], path: str) -> set[str]:
    """The logical ids a policy denies something on, and the nested stack it is on (naming it lifts them all)."""
    ids = {r.removeprefix("LogicalResourceId/") for s in sp.statements(document) if s.get("Effect") == "Deny"
           for r in sp.listed(s.get("Resource", []))}
    return ids | (set(path.split("/")) if ids and path else set())


Result = TypeVar("Result")


def guarded(command: Callable[..., Result]) -> Callable[..., Result]:
    """Decorates a deploying command: whatever way it ends, every settled stack it guarded gets its policies set."""

    @functools.wraps(command)
    def run(request: Any, out: Progress, *rest: Any, **named: Any) -> Result:
        if _ACTIVE.get() is not None:  # a deploy inside a guarded command (up -> deploy): the outer one restores
            return command(request, out, *rest, **named)
        token = _ACTIVE.set([])
        failed = True
        try:
            code = command(request, out, *rest, **named)
            failed = False
            return code
        finally:
            guarding = _ACTIVE.get() or []
            _ACTIVE.reset(token)
            _restore(out, guarding, failed)

    return run


def _restore(out: Progress, guarding: list[Guarding], failed: bool) -> None:
    """After success: the new full policies everywhere. After a failure or Ctrl-C: the policies relaxed for it, as they were."""
    for g in guarding:
        try:
            if failed:
                cfn = g.target.client("cloudformation")
                for physical, body in sorted(g.relaxed_from.items()):
                    cfn.set_stack_policy(StackName=physical, StackPolicyBody=body)
            else:
                apply_stack_policies(g.target, g.compiled, g.stack)
        except Exception as exc:  # the deploy's own error is the one to show; this one is said beside it
            if not failed:
                raise
            out.info(f"warning: the stack policies of {g.stack} could not be set back ({type(exc).__name__}: {exc}); "
                     f"set them with stack-cfn deploy, or by hand (docs/pipeline.md)")
            continue
        if g.relaxed_from:
            out.info(f"stack policies of {g.stack} set back: what --allow-replace lifted is protected again")
