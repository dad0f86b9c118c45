"""Upload, plan and deploy: the nested templates to S3, change sets of the root and its service groups, executed and followed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from stack_cfn import app
from stack_cfn.app import NOTHING_SENT, AwsOptions, BucketOptions, StackFile
from stack_cfn.ship.protect import guard_deploy, guarded, say_blocked
from stack_cfn.ship.report import Progress

if TYPE_CHECKING:
    from stack_cfn.blueprints.compiler import Compiled
    from stack_cfn.model.config import StackConfig
    from stack_cfn.ship.aws import AwsTarget
    from stack_cfn.ship.deploy import ChangeSet, Uploaded
    from stack_cfn.ship.exports_guard import ExportPlan
    from stack_cfn.ship.watch import WatchOptions
    from stack_cfn.usecases.plan_checks import PlanChecks


@dataclass(frozen=True)
class UploadRequest:
    source: StackFile
    aws: AwsOptions
    bucket: BucketOptions


@dataclass(frozen=True)
class UploadResult:
    uploaded: tuple[str, ...]
    skipped: tuple[str, ...]
    urls: dict[str, str]


def upload(request: UploadRequest, out: Progress) -> UploadResult:
    cfg = app.load(request.source, out)
    compiled = app.compile_and_lint(request.source, cfg, out)
    result = app.upload(request.bucket, out, app.target_for(request.source, request.aws, cfg, out), compiled)
    return UploadResult(tuple(result.uploaded), tuple(result.skipped), dict(result.urls))


@dataclass(frozen=True)
class DeployRequest:
    source: StackFile
    aws: AwsOptions
    bucket: BucketOptions
    refresh_ami: bool = False
    allow_replace: tuple[str, ...] = ()
    cancel: bool = True  # False (--no-cancel): failing ECS tasks are only said, the update is not cancelled (ship/watch.py)


@dataclass(frozen=True)
class PlanResult:
    stack: str
    checks: PlanChecks | None = None  # drift and schema-decided replacement of a deployed stack (usecases/plan_checks.py)
    reverted: frozenset[tuple[str, str]] = frozenset()  # drifted resources the change sets touch: the deploy sets them back


def plan(request: DeployRequest, out: Progress) -> PlanResult:
    """Change sets of the root and its service groups, shown and then removed with everything the plan made
    (uploads, bucket, a new stack's shell)."""
    from stack_cfn.ship import deploy

    cfg, sources = app.load_sourced(request.source, out)
    app.show_sources(out, cfg, sources)
    compiled = app.compile_and_lint(request.source, cfg, out)
    target = app.target_for(request.source, request.aws, cfg, out)
    stack = app.stack_name_for(request.source, request.aws, cfg)
    cfn = target.client("cloudformation")
    existed = _live(cfn, stack)
    parameters = app.root_parameters(out, target, cfg, stack, request.refresh_ami)
    checks = _plan_checks(out, target, stack, compiled, parameters) if existed else None  # drift, before the change sets
    stale = _stale_groups(target, compiled, stack)
    if existed:
        _say_exports(out, stack, _export_plan(out, target, compiled, stack, stale, parameters))
    uploaded: Uploaded | None = None
    made: list[tuple[str, ChangeSet | None, bool]] = []
    try:
        uploaded = _plan_upload(request, out, target, compiled)
        root = app.change_set(out, target, stack, uploaded.root_url, parameters,
                              "nothing was deployed; what the plan made is removed", app.required_capabilities(compiled, compiled.root))
        made.append((stack, root, existed))
        _show(out, target, root)
        made += _plan_groups(out, target, cfn, compiled, stack, uploaded, existed)
        for group in stale:
            out.info(f"!! {group} would be DELETED with its services: none of them is placed there any more")
    finally:
        for name, cs, stack_existed in made or [(stack, None, existed)]:
            for problem in deploy.discard_plan(target, name, cs, uploaded if name == stack else None, stack_existed=stack_existed):
                out.info(f"warning: {problem}")
    reverted = checks.reverted(cs for _, cs, _ in made if cs) if checks is not None and checks.deployed else set()
    return PlanResult(stack, checks, frozenset(reverted))


def _plan_upload(request: DeployRequest, out: Progress, target: AwsTarget, compiled: Compiled) -> Uploaded:
    """The plan's uploads; one that stopped part way still hands what it made (its bucket, its keys) to the clean-up."""
    from stack_cfn.ship import deploy

    try:
        return app.upload(request.bucket, out, target, compiled)
    except deploy.UploadFailed as failed:
        for problem in deploy.discard_plan(target, "", None, failed.partial, stack_existed=True):
            out.info(f"warning: {problem}")
        raise


def _plan_checks(out: Progress, target: AwsTarget, stack: str, compiled: Compiled, parameters: dict[str, str]) -> PlanChecks:
    """Drift on the deployed stacks and replacement from the resource schemas (usecases/plan_checks.py)."""
    from stack_cfn.usecases.plan_checks import PlanChecksRequest, plan_checks

    groups = {g: app.group_parameters(stack) for g in compiled.groups}
    request = PlanChecksRequest(target, stack, compiled, target.region, {compiled.root: parameters, **groups})
    doing = "detecting drift and reading the deployed templates"
    with out.step(doing, "nothing was changed or sent"), out.status(doing):
        return plan_checks(request, out.info)


def _plan_groups(out: Progress, target: AwsTarget, cfn: object, compiled: Compiled, stack: str, uploaded: Uploaded,
                 existed: bool) -> list[tuple[str, ChangeSet | None, bool]]:
    """The change set of each existing service group, shown (a new stack's groups are created after it)."""
    made: list[tuple[str, ChangeSet | None, bool]] = []
    for template, name in app.groups_of(compiled, stack):
        if not existed:
            out.info(f"{name}: {len(compiled.operations[template])} service(s), created after {stack} (they import its exports)")
            continue
        group_existed = _live(cfn, name)
        url, parameters, capabilities = _group_request(target, compiled, stack, uploaded, template, name, None)
        cs = app.change_set(out, target, name, url, parameters, "nothing was deployed", capabilities)
        made.append((name, cs, group_existed))
        _show(out, target, cs)
    return made


def _say_exports(out: Progress, stack: str, exports: ExportPlan) -> None:
    """What a deploy would do about the exports it changes: refuse (each line), or take two phases."""
    for line in exports.refused:
        out.info(f"!! deploy would refuse: {line}")
    if exports.two_phases:
        out.info(f"deploy will take {exports.describe(stack)}")


def _show(out: Progress, target: AwsTarget, cs: ChangeSet) -> None:
    """A change set, then what the stack policies would refuse of it."""
    out.plan(cs)
    say_blocked(out, target, cs)


def _live(cfn: object, stack: str) -> bool:
    """The stack exists with resources (not only the empty shell a change set of an interrupted run left)."""
    from stack_cfn.ship import deploy
    from stack_cfn.ship.aws_errors import busy_means

    with busy_means("DescribeStacks", NOTHING_SENT):
        return deploy.is_live(cfn, stack)


def _stale_groups(target: AwsTarget, compiled: Compiled, stack: str) -> list[str]:
    from stack_cfn.ship import deploy

    wanted = {name for _, name in app.groups_of(compiled, stack)}
    return [name for name in deploy.group_stacks(target, stack) if name not in wanted]


@dataclass(frozen=True)
class DeployResult:
    stack: str
    changed: bool  # False: the root and its groups were up to date
    has_groups: bool
    outputs: dict[str, str] = field(default_factory=dict)  # the root's outputs, read after a change


@guarded  # stack policies (ship/protect.py): set back in full when the deploy ends, however it ends
def deploy(request: DeployRequest, out: Progress, parameters: dict[str, str] | None = None,
           target: AwsTarget | None = None, compiled: Compiled | None = None) -> DeployResult:
    """The root first, then its service groups together (they import the root's exports); stale groups are deleted first."""
    source, timeout = request.source, request.aws.timeout
    cfg, sources = app.load_sourced(source, out)
    app.show_sources(out, cfg, sources)
    compiled = app.compile_and_lint(source, cfg, out, compiled)
    target = target or app.target_for(source, request.aws, cfg, out)
    stack = app.stack_name_for(source, request.aws, cfg)
    stale = _stale_groups(target, compiled, stack)
    root_parameters = app.root_parameters(out, target, cfg, stack, request.refresh_ami, parameters)
    exports = _guard_exports(out, target, compiled, stack, stale, root_parameters)
    guard_deploy(request.allow_replace, out, target, compiled, cfg, stack)  # policies set; relaxed for --allow-replace NAME until the deploy ends
    uploaded = app.upload(request.bucket, out, target, compiled)
    app.record_placement(source, out, compiled)
    if stale:
        app.delete_stacks(out, target, stale, "deleting service groups whose services are placed elsewhere or gone", timeout)
    _ensure_linked_roles(out, target, compiled)
    if exports.two_phases:
        out.info(f"the deploy takes {exports.describe(stack)}")
        _deploy_groups(out, target, compiled, stack, uploaded, request, cfg, exports.first,
                       f"phase 1 of 2: nothing else was deployed; the next deploy pins the groups still importing from {stack}, then goes on")
    cs = app.change_set(out, target, stack, uploaded.root_url, root_parameters,
                        f"nothing was deployed; a change set may be left pending on {stack}: the next deploy removes it",
                        app.required_capabilities(compiled, compiled.root))
    if not cs.empty:
        out.plan(cs)
        app.execute(out, target, [cs], f"waiting for {stack}", timeout, _watch(request, cfg))
    groups, pending = _deploy_groups(out, target, compiled, stack, uploaded, request, cfg, None, "the root is deployed; deploy again for the groups")
    app.prune_releases(source, out, sources)
    if cs.empty and not pending and not stale and not exports.two_phases:
        return DeployResult(stack, False, bool(groups))
    from stack_cfn.ship.deploy import read_outputs

    return DeployResult(stack, True, bool(groups), dict(read_outputs(target, stack)))


def _watch(request: DeployRequest, cfg: StackConfig) -> WatchOptions:
    from stack_cfn.ship.watch import WatchOptions

    return WatchOptions.of(cfg, request.cancel)


def _deploy_groups(out: Progress, target: AwsTarget, compiled: Compiled, stack: str, uploaded: Uploaded, request: DeployRequest,
                   cfg: StackConfig, pins: Mapping[str, Mapping[str, str]] | None, if_interrupted: str) -> tuple[list[ChangeSet], list[ChangeSet]]:
    """The service groups' change sets, shown and executed together: all of them with their imports (pins None), or
    a two-phase deploy's first phase: only the groups named, their pinned parameters set (ship/exports_guard.py)."""
    groups = []
    for template, name in app.groups_of(compiled, stack):
        if pins is None or name in pins:
            url, parameters, capabilities = _group_request(target, compiled, stack, uploaded, template, name, pins)
            groups.append(app.change_set(out, target, name, url, parameters, if_interrupted, capabilities))
    pending = [g for g in groups if not g.empty]
    for g in pending:
        out.plan(g)
    if pending:
        doing = f"waiting for {len(pending)} service group(s)" + (" to stop importing (phase 1 of 2)" if pins is not None else "")
        app.execute(out, target, pending, doing, timeout=request.aws.timeout, watch=_watch(request, cfg))
    return groups, pending


def _group_request(target: AwsTarget, compiled: Compiled, stack: str, uploaded: Uploaded, template: str, name: str,
                   pins: Mapping[str, Mapping[str, str]] | None) -> tuple[str | None, dict[str, str], tuple[str, ...]]:
    """A group's template URL (None: its deployed template), parameters and capabilities: its new template importing
    (pins None); in a first phase, its deployed template with only the pins set, or, when that template predates
    pins, its new template with the pins it declares."""
    from stack_cfn.blueprints.group import ServiceGroup
    from stack_cfn.ship.exports_guard import on_deployed_template, unpinned

    empty, capabilities = unpinned(compiled.files, template), app.required_capabilities(compiled, template)
    if pins is None:
        return uploaded.urls[template], {**app.group_parameters(stack), **empty}, capabilities
    deployed = on_deployed_template(target, name, ServiceGroup.RootStackName.name, pins[name])
    if deployed is not None:
        return None, deployed[0], tuple(sorted({*capabilities, *deployed[1]}))
    pinned = {k: v for k, v in pins[name].items() if k in empty}
    return uploaded.urls[template], {**app.group_parameters(stack), **empty, **pinned}, capabilities


def _export_plan(out: Progress, target: AwsTarget, compiled: Compiled, stack: str, stale: list[str],
                 parameters: dict[str, str]) -> ExportPlan:
    """What the deploy does about exports it changes (ship/exports_guard.py), read before anything is sent."""
    from stack_cfn.ship import exports_guard

    top = {stack: compiled.root, **{name: template for template, name in app.groups_of(compiled, stack)}}
    with out.step("checking the exports other stacks import", NOTHING_SENT), out.status("checking the exports other stacks import"):
        return exports_guard.assess(target, compiled.files, top, stale, parameters)


def _guard_exports(out: Progress, target: AwsTarget, compiled: Compiled, stack: str, stale: list[str],
                   parameters: dict[str, str]) -> ExportPlan:
    """Refuse, before anything is sent, a change to exports that stacks not ours import, or that a group's new template
    still needs; else the plan of a two-phase deploy when our groups import them."""
    from stack_cfn.errors import DeployError

    exports = _export_plan(out, target, compiled, stack, stale, parameters)
    if exports.refused:
        raise DeployError("nothing was deployed: " + "\n".join(exports.refused))
    return exports


def _ensure_linked_roles(out: Progress, target: AwsTarget, compiled: Compiled) -> None:
    """The service-linked roles CloudFormation cannot make on its own for this stack, before its first change set."""
    from stack_cfn.ship import linked_roles

    with out.step("checking the service-linked roles the stack needs", "nothing was deployed; roles already created stay (they are the account's)"):
        for line in linked_roles.ensure(target, compiled.files.values()):
            out.info(line)
