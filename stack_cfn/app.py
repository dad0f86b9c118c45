"""The building blocks the use cases (stack_cfn/usecases/) share: the parts of a request several commands take, and
the steps over the model, the blueprints and ship/ (load, compile and lint, reach AWS, upload, change sets, follow).

Nothing here reads flags, prints or asks: a use case gets a typed request (built by cli.py), says through a Progress
(ship/report.py) what it is doing (and so what a Ctrl-C at that moment means), returns a typed result, and raises
StackCfnError for anything a user can act on.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stack_cfn.blueprints.compiler import Compiled, compile_stack
from stack_cfn.errors import ConfigError, DeployError
from stack_cfn.model.config import StackConfig
from stack_cfn.model.loading import load_config, load_with_sources
from stack_cfn.model.releases import Sources
from stack_cfn.ship.files import write_generated
from stack_cfn.ship.lint import lint_templates
from stack_cfn.ship.report import Progress

if TYPE_CHECKING:
    from stack_cfn.ship.aws import AwsTarget
    from stack_cfn.ship.deploy import ChangeSet, Uploaded
    from stack_cfn.ship.watch import Watcher, WatchOptions

NOTHING_SENT = "nothing was written or sent"
DEFAULT_CONFIG = "stack.yaml"


# ---------------------------------------------------------------- the parts of a request


@dataclass(frozen=True)
class StackFile:
    """The stack description: its path as the user wrote it (messages echo it so), and whether -c named it."""

    path: str = DEFAULT_CONFIG
    given: bool = False


@dataclass(frozen=True)
class AwsOptions:
    """Where a command talks to AWS, and how long it waits for CloudFormation."""

    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None
    timeout: int = 60  # minutes
    stack_name: str | None = None  # None: <name>-<environment> of the stack file


@dataclass(frozen=True)
class BucketOptions:
    """Where the templates are uploaded: a named bucket (created only when asked), else stack-cfn-<account>-<region>."""

    name: str | None = None
    create: bool = False
    prefix: str = "stack-cfn"


# ---------------------------------------------------------------- the stack file


def load(source: StackFile, out: Progress) -> StackConfig:
    """The stack file, validated; what is legal but unwise is said as a warning."""
    return load_sourced(source, out)[0]


def load_sourced(source: StackFile, out: Progress) -> tuple[StackConfig, Sources]:
    """The stack file with its releases file applied, and where each service's version comes from; a stale release is a warning."""
    cfg, sources = load_with_sources(source.path)
    for warning in (*cfg.warnings, *sources.notes):
        out.info(f"warning: {warning}")
    return cfg, sources


def show_sources(out: Progress, cfg: StackConfig, sources: Sources) -> None:
    """Where each service's version comes from: no silent precedence between the stack file and its releases file."""
    if cfg.services:
        out.info("versions: " + ", ".join(f"{s.name} {s.image}:{s.version} from {sources.origins.get(s.name, '?')}" for s in cfg.services))


def prune_releases(source: StackFile, out: Progress, sources: Sources) -> None:
    """Drop the releases the stack file overrode since (once the stack file's versions are deployed)."""
    from stack_cfn.model.releases import read_releases, releases_path, releases_text

    if sources.stale:
        path = releases_path(source.path)
        write_generated(path, releases_text(sources.kept(read_releases(source.path))), "stack-cfn release")
        out.info(f"removed the stale release of {', '.join(sources.stale)} from {path}: the stack file's version is deployed")


def optional_config(source: StackFile) -> StackConfig | None:
    """The stack file when there is one; a -c given on the command line must exist."""
    path = Path(source.path)
    return load_config(path) if source.given or path.exists() or path.is_symlink() else None


def compile_and_lint(source: StackFile, cfg: StackConfig, out: Progress, compiled: Compiled | None = None) -> Compiled:
    """The stack's templates, placed as its placement file says (a new service where there is room), cfn-lint clean."""
    from stack_cfn.ship.placement_file import placement_path, precedence_notes, read_placement

    if compiled is not None and compiled.linted:
        return compiled
    recorded = read_placement(source.path)
    with out.step("compiling and linting the templates", NOTHING_SENT):
        compiled = compiled or compile_stack(cfg, recorded=recorded)
        with out.status("linting templates with cfn-lint"):
            lint_templates(compiled.files)
    for warning in (*compiled.warnings, *precedence_notes(placement_path(source.path), compiled.placement, recorded, cfg.service_group_size)):
        out.info(f"warning: {warning}")
    return dataclasses.replace(compiled, linted=True)


def record_placement(source: StackFile, out: Progress, compiled: Compiled) -> None:
    """Keep the stack of each service beside the stack file, once services span several stacks."""
    from stack_cfn.ship.placement_file import read_placement
    from stack_cfn.ship.placement_file import record_placement as record

    with out.step("recording the placement of services", "run it again"):
        written = record(source.path, compiled.placement, read_placement(source.path))
    if written:
        out.info(f"recorded which stack holds each service in {written}; commit it with the stack file")


# ---------------------------------------------------------------- where: region, AWS, stack name, bucket


def target_for(source: StackFile, aws: AwsOptions, cfg: StackConfig | None, out: Progress) -> AwsTarget:
    """Where to deploy: one region (the stack file's, --region, the profile's, the environment's must agree), reached."""
    from stack_cfn.ship.aws import AwsTarget  # boto3: only the commands that talk to AWS pay its import

    region = region_for(source, aws, cfg)
    target = AwsTarget.from_env(region, aws.endpoint_url, aws.profile, region)
    if cfg is not None and target.region != cfg.region:
        from stack_cfn.model.aws_checks import check_aws_rules

        check_aws_rules(cfg, target.region)  # deployed elsewhere than the description's region: that region's offerings
    with out.step(f"reaching AWS at {target.where}", NOTHING_SENT):
        target.session()  # fails early, in one line, without credentials
        target.check_reachable()
    return target


def region_for(source: StackFile, aws: AwsOptions, cfg: StackConfig | None, fallback: str | None = None) -> str:
    """The one region of this run (docs/cli.md); with none given anywhere, `fallback`, else the stack file's default region.
    The stack file's zones and certificates are checked against it when the file names none."""
    from stack_cfn.model.loading import states_region
    from stack_cfn.ship.aws import decide_region

    stated = cfg.region if cfg is not None and states_region(source.path, cfg) else None
    default = fallback or (cfg.region if cfg is not None else "us-east-1")
    region, origin = decide_region(aws.region, aws.profile, stated, default)
    if cfg is not None and region != cfg.region:
        try:
            cfg.with_changes(region=region)
        except ConfigError as exc:
            raise ConfigError(exc.field, f"{exc.problem} (the region used, {region}, comes from {origin})", exc.fix) from None
    return region


def stack_name_for(source: StackFile, aws: AwsOptions, cfg: StackConfig | None) -> str:
    """--stack-name when given (never blank: refused at the edge and here), else <name>-<environment> of the stack file."""
    given = aws.stack_name
    if given is not None:
        if not given.strip():
            raise DeployError("--stack-name: is empty; give the stack's name, or leave the flag out for <name>-<environment> of the stack file")
        return given
    if cfg is None:
        raise DeployError(f"--stack-name is required without a stack description ({source.path} not found)")
    return cfg.stack_name


def resolve_bucket(bucket: BucketOptions, target: AwsTarget) -> tuple[str, bool]:
    """The bucket's name and whether to create it when missing."""
    if bucket.name:
        return bucket.name, bucket.create
    account = target.client("sts").get_caller_identity()["Account"]
    return f"stack-cfn-{account}-{target.region}", True


# ---------------------------------------------------------------- upload, change sets, follow


def upload(bucket: BucketOptions, out: Progress, target: AwsTarget, compiled: Compiled) -> Uploaded:
    from stack_cfn.ship import deploy

    name, create = resolve_bucket(bucket, target)
    where = f"s3://{name}/{bucket.prefix}/"
    with out.step(f"uploading templates to {where}", "nothing was deployed; templates already uploaded are reused next time"), \
            out.status(f"uploading templates to {where}"):
        return deploy.upload(target, compiled, name, bucket.prefix, create)


def change_set(out: Progress, target: AwsTarget, stack: str, url: str | None, parameters: dict[str, str], if_interrupted: str,
               capabilities: tuple[str, ...]) -> ChangeSet:
    from stack_cfn.ship import deploy

    with out.step(f"computing the change set of {stack}", if_interrupted), out.status(f"computing the change set of {stack}"):
        return deploy.create_change_set(target, stack, url, parameters, capabilities, say=out.info)


def required_capabilities(compiled: Compiled, top: str) -> tuple[str, ...]:
    """The capabilities of the stack made from a top-level template: derived from its templates, in one place."""
    from stack_cfn.ship.capabilities import of_operation

    return of_operation(compiled.files, compiled.operations, top)


def root_parameters(out: Progress, target: AwsTarget, cfg: StackConfig, stack: str, refresh_ami: bool = False,
                    overrides: dict[str, str] | None = None) -> dict[str, str]:
    """The root's parameters: the container-instance image chosen on purpose (ship/ami.py: kept from the running
    cluster unless ecs_ami or --refresh-ami says otherwise, so an unrelated change never rolls the fleet), then overrides."""
    from stack_cfn.ship import ami

    with out.step("choosing the container-instance image", NOTHING_SENT):
        choice = ami.choose_ecs_ami(target, cfg, stack, refresh=refresh_ami)
    out.info(choice.describe())
    return {**choice.parameters(), **(overrides or {})}


def group_parameters(stack: str) -> dict[str, str]:
    from stack_cfn.blueprints.group import ServiceGroup

    return {ServiceGroup.RootStackName.name: stack}


def groups_of(compiled: Compiled, stack: str) -> list[tuple[str, str]]:
    """(template, stack name) of each service group, in order."""
    return [(g, compiled.stack_name(g, stack)) for g in compiled.groups]


def start(out: Progress, target: AwsTarget, work: Sequence[ChangeSet]) -> dict[str, object]:
    """ExecuteChangeSet for each change set, one step each, so that Ctrl-C says which were sent and which left pending."""
    from stack_cfn.ship import deploy

    since: dict[str, object] = {}
    for cs in work:
        sent = f"; {', '.join(since)} started and keep going in CloudFormation" if since else ""
        with out.step(f"starting the change set of {cs.stack_name}",
                      f"the change set {cs.name or cs.arn} of {cs.stack_name} was left pending, not executed (the next deploy removes it){sent}"):
            since[cs.stack_name] = deploy.start(target, cs)
    return since


def execute(out: Progress, target: AwsTarget, work: Sequence[ChangeSet], doing: str, timeout: int, watch: WatchOptions | None = None) -> None:
    """Execute change sets together, follow them (watching their ECS services: ship/watch.py), and fail with the reasons
    of any that did not finish well."""
    since = start(out, target, work)
    follow(out, target, since, doing, timeout, watch)


def follow(out: Progress, target: AwsTarget, since: Mapping[str, object], doing: str, timeout: int, watch: WatchOptions | None) -> None:
    """Follow started stacks to their end; with `watch`, a failing ECS deployment cancels its stack (or is only said, cancel off)."""
    from stack_cfn.ship import deploy
    from stack_cfn.ship.watch import Watcher

    watcher = Watcher(target, since, watch.cluster, watch.cancel, out.info, thresholds=watch.thresholds) if watch else None
    _follow(out, target, list(since), doing, timeout, deploy.DONE_OK,
            lambda on_event: deploy.follow_many(target, since, on_event, timeout * 60, watcher.tick if watcher else None), watcher)


def delete_stacks(out: Progress, target: AwsTarget, names: list[str], doing: str, timeout: int) -> None:
    """Delete stacks together, follow them, and fail with the reasons of any that did not end deleted."""
    from stack_cfn.ship import deploy

    _follow(out, target, names, doing, timeout, {"DELETE_COMPLETE"}, lambda on_event: deploy.destroy_many(target, names, on_event, timeout * 60))


Follow = Callable[[Callable[[dict[str, Any]], None]], dict[str, str]]


def _follow(out: Progress, target: AwsTarget, names: list[str], doing: str, timeout: int, ok: set[str] | frozenset[str], run: Follow,
            watcher: Watcher | None = None) -> None:
    from stack_cfn.ship import deploy

    label = names[0] if len(names) == 1 else f"{len(names)} stacks"
    watch = (f"CloudFormation keeps going with {'stack ' if len(names) == 1 else ''}{label}; "
             f"watch it with: aws cloudformation describe-stack-events --stack-name {names[0]}")
    with out.step(doing, f"stopped waiting. {watch}"):
        statuses = out.follow_many(run, label, timeout)
    cancelled = watcher.error(statuses) if watcher else None
    if cancelled:
        raise cancelled
    for name, status in statuses.items():
        if status not in ok:
            reasons = deploy.failure_reasons(target, name)
            raise DeployError(f"stack {name} ended {status}: " + ("; ".join(reasons) or "see its events"))
