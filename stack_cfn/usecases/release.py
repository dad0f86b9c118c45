"""`release`: new image versions of some services through change sets that touch only them (one per stack holding
them: the root, a service group), recorded beside the stack file."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from stack_cfn import app
from stack_cfn.app import AwsOptions, BucketOptions, StackFile
from stack_cfn.errors import DeployError
from stack_cfn.model.releases import Release, Sources
from stack_cfn.ship.abort import AbortResult
from stack_cfn.ship.report import Progress

if TYPE_CHECKING:
    from stack_cfn.blueprints.compiler import Compiled
    from stack_cfn.model.config import StackConfig
    from stack_cfn.ship.aws import AwsTarget
    from stack_cfn.ship.deploy import ChangeSet

NO_CHANGES = "NO_CHANGES"


@dataclass(frozen=True)
class ReleaseRequest:
    source: StackFile
    aws: AwsOptions
    bucket: BucketOptions
    releases: Mapping[str, Release]  # service -> its new version (and image): ship/release.parse_requests, at the edge
    wait: bool = True  # False: start the release and return
    cancel: bool = True  # False (--no-cancel): failing ECS tasks are only said, the release is not cancelled (ship/watch.py)
    strategy: str | None = None  # the released services' strategy for this release only (model/deployment.py check_release_strategy)


@dataclass(frozen=True)
class ReleaseResult:
    stack: str
    status: str  # the stack's final status, UPDATE_IN_PROGRESS without waiting, NO_CHANGES when nothing differed
    releases: Mapping[str, Release]

    @property
    def changed(self) -> bool:
        return self.status != NO_CHANGES


def release(request: ReleaseRequest, out: Progress) -> ReleaseResult:
    from stack_cfn.ship import deploy
    from stack_cfn.ship import release as ship_release

    releases = request.releases
    stack_file, sources = app.load_sourced(request.source, out)
    cfg = ship_release.released_config(stack_file, releases, request.strategy)
    compiled = app.compile_and_lint(request.source, cfg, out)
    target = app.target_for(request.source, request.aws, cfg, out)
    stack = app.stack_name_for(request.source, request.aws, cfg)
    sets = _change_sets(request, out, target, cfg, compiled, stack)
    if not sets:
        return ReleaseResult(stack, NO_CHANGES, releases)
    for cs in sets:
        out.plan(cs)
    since = app.start(out, target, sets)
    if not request.wait:
        _record(request, sources)
        return ReleaseResult(sets[0].stack_name, "UPDATE_IN_PROGRESS", releases)
    statuses = _follow(request, out, target, sets, since, cfg)
    for name, status in statuses.items():
        if status not in deploy.DONE_OK:
            raise ship_release.failed(name, status, deploy.failure_reasons(target, name), ship_release.stopped_reasons(target, cfg.cluster_name, releases))
    _record(request, sources)
    return ReleaseResult(sets[0].stack_name, statuses[sets[0].stack_name], releases)


@dataclass(frozen=True)
class AbortReleaseRequest:
    source: StackFile
    aws: AwsOptions


def abort(request: AbortReleaseRequest, out: Progress) -> tuple[str, AbortResult]:
    """`release --abort`: the stack's in-flight ECS deployments rolled back, its in-progress updates cancelled (ship/abort.py)."""
    from stack_cfn.ship.abort import AbortRequest, abort_release

    cfg, _ = app.load_sourced(request.source, out)
    compiled = app.compile_and_lint(request.source, cfg, out)
    target = app.target_for(request.source, request.aws, cfg, out)
    stack = app.stack_name_for(request.source, request.aws, cfg)
    stopping = AbortRequest(tuple(compiled.stack_name(top, stack) for top in compiled.stacks), cfg.cluster_name, tuple(s.name for s in cfg.services))
    with out.step(f"stopping the release of {stack}", "see the services' deployments in the ECS console"):
        return stack, abort_release(target.client("ecs"), target.client("cloudformation"), stopping)


def _change_sets(request: ReleaseRequest, out: Progress, target: AwsTarget, cfg: StackConfig, compiled: Compiled, stack: str) -> list[ChangeSet]:
    """The non-empty change sets of the stacks holding the released services; refused (and removed) when they carry more."""
    from stack_cfn.ship import deploy
    from stack_cfn.ship import release as ship_release

    uploaded = app.upload(request.bucket, out, target, compiled)
    holders = sorted({_holder(compiled, name) for name in request.releases}, key=compiled.stacks.index)
    sets = [app.change_set(out, target, compiled.stack_name(top, stack), uploaded.urls[top],
                           app.root_parameters(out, target, cfg, stack) if top == compiled.root else app.group_parameters(stack),
                           "nothing was released; a change set may be left pending: the next release or deploy removes it",
                           app.required_capabilities(compiled, top)) for top in holders]
    sets = [cs for cs in sets if not cs.empty]
    ids = [*(s.logical_id for s in cfg.services if s.name in request.releases), *(j.logical_id for j in cfg.jobs if j.name in request.releases)]
    foreign = [f for cs in sets for f in ship_release.foreign_changes(cs.changes, ids)]
    if foreign:
        for cs in sets:
            deploy.discard_plan(target, cs.stack_name, cs, None, stack_existed=True)
        raise DeployError(f"the release would also change {', '.join(foreign[:5])}: the stack differs from its stack file in more than these "
                          "versions; deploy it first (stack-cfn deploy), then release")
    return sets


def _follow(request: ReleaseRequest, out: Progress, target: AwsTarget, sets: list[ChangeSet], since: dict[str, object], cfg: StackConfig) -> dict[str, str]:
    """The stacks' final statuses; a release whose new tasks keep failing is cancelled and rolled back first (ship/watch.py)."""
    from stack_cfn.ship import deploy
    from stack_cfn.ship.watch import Watcher, WatchOptions

    timeout = request.aws.timeout
    options = WatchOptions.of(cfg, request.cancel)
    watcher = Watcher(target, since, options.cluster, options.cancel, out.info, thresholds=options.thresholds)
    watch = f"the release keeps going; watch it with: aws cloudformation describe-stack-events --stack-name {sets[0].stack_name}"
    with out.step(f"waiting for {', '.join(cs.stack_name for cs in sets)} to reach steady state", f"stopped waiting. {watch}"):
        statuses = out.follow_many(lambda on_event: deploy.follow_many(target, since, on_event, timeout * 60, watcher.tick),
                                   sets[0].stack_name, timeout)
    cancelled = watcher.error(statuses)
    if cancelled:
        raise cancelled
    return statuses


def _record(request: ReleaseRequest, sources: Sources) -> None:
    """The released versions, in the releases file beside the stack file."""
    from stack_cfn.model.releases import read_releases, releases_path, releases_text
    from stack_cfn.ship import release as ship_release
    from stack_cfn.ship.files import write_generated

    path = request.source.path
    write_generated(releases_path(path), releases_text({**sources.kept(read_releases(path)), **ship_release.recorded(request.releases, sources)}),
                    "stack-cfn release")


def _holder(compiled: Compiled, service: str) -> str:
    """The top-level template whose stack holds a service."""
    from stack_cfn.blueprints.group import group_file

    number = compiled.placement.groups.get(service, 0)
    return compiled.root if number == 0 else group_file(number)
