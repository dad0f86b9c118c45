"""What each command does: the use cases over the model, the blueprints and ship/.

The command line (cli.py) parses and hands over an argparse Namespace; these
functions read plain values from it, say through the Reporter what they are
doing (and so what a Ctrl-C at that moment means), and raise StackCfnError
for anything a user can act on.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from stack_cfn.blueprints.compiler import Compiled, compile_generic, compile_stack
from stack_cfn.blueprints.group import group_file
from stack_cfn.errors import ConfigError, DeployError
from stack_cfn.model.config import StackConfig
from stack_cfn.model.loading import load_config, load_with_sources
from stack_cfn.model.releases import Sources
from stack_cfn.ship.files import write_generated, write_tree
from stack_cfn.ship.lint import lint_templates
from stack_cfn.ship.protect import guard_deploy, guarded, say_blocked
from stack_cfn.ship.report import Reporter

if TYPE_CHECKING:
    from stack_cfn.model.placement import Placement
    from stack_cfn.ship.aws import AwsTarget
    from stack_cfn.ship.deploy import ChangeSet, Uploaded
    from stack_cfn.ship.local import LocalAws

NOTHING_SENT = "nothing was written or sent"


def load(args: argparse.Namespace, out: Reporter) -> StackConfig:
    """The stack file, validated; what is legal but unwise is said as a warning."""
    return load_sourced(args, out)[0]


def load_sourced(args: argparse.Namespace, out: Reporter) -> tuple[StackConfig, Sources]:
    """The stack file with its releases file applied, and where each service's version comes from; a stale release is a warning."""
    cfg, sources = load_with_sources(args.config)
    for warning in (*cfg.warnings, *sources.notes):
        out.info(f"warning: {warning}")
    return cfg, sources


def show_sources(out: Reporter, cfg: StackConfig, sources: Sources) -> None:
    """Where each service's version comes from: no silent precedence between the stack file and its releases file."""
    if cfg.services:
        out.info("versions: " + ", ".join(f"{s.name} {s.image}:{s.version} from {sources.origins.get(s.name, '?')}" for s in cfg.services))


def prune_releases(args: argparse.Namespace, out: Reporter, sources: Sources) -> None:
    """Drop the releases the stack file overrode since (once the stack file's versions are deployed)."""
    from stack_cfn.model.releases import read_releases, releases_path, releases_text

    if sources.stale:
        path = releases_path(args.config)
        write_generated(path, releases_text(sources.kept(read_releases(args.config))), "stack-cfn release")
        out.info(f"removed the stale release of {', '.join(sources.stale)} from {path}: the stack file's version is deployed")


def compile_and_lint(args: argparse.Namespace, cfg: StackConfig, out: Reporter, compiled: Compiled | None = None) -> Compiled:
    """The stack's templates, placed as its placement file says (a new service where there is room), cfn-lint clean."""
    from stack_cfn.ship.placement_file import placement_path, precedence_notes, read_placement

    if compiled is not None and compiled.linted:
        return compiled
    recorded = read_placement(args.config)
    with out.step("compiling and linting the templates", NOTHING_SENT):
        compiled = compiled or compile_stack(cfg, recorded=recorded)
        with out.status("linting templates with cfn-lint"):
            lint_templates(compiled.files)
    for warning in (*compiled.warnings, *precedence_notes(placement_path(args.config), compiled.placement, recorded, cfg.service_group_size)):
        out.info(f"warning: {warning}")
    return dataclasses.replace(compiled, linted=True)


def record_placement(args: argparse.Namespace, out: Reporter, compiled: Compiled) -> None:
    """Keep the stack of each service beside the stack file, once services span several stacks."""
    from stack_cfn.ship.placement_file import read_placement
    from stack_cfn.ship.placement_file import record_placement as record

    with out.step("recording the placement of services", "run it again"):
        written = record(args.config, compiled.placement, read_placement(args.config))
    if written:
        out.info(f"recorded which stack holds each service in {written}; commit it with the stack file")


def target_for(args: argparse.Namespace, cfg: StackConfig | None, out: Reporter) -> AwsTarget:
    """Where to deploy: one region (the stack file's, --region, the profile's, the environment's must agree), reached."""
    from stack_cfn.ship.aws import AwsTarget  # boto3: only the commands that talk to AWS pay its import

    region = region_for(args, cfg)
    target = AwsTarget.from_env(region, args.endpoint_url, args.profile, region)
    if cfg is not None and target.region != cfg.region:
        from stack_cfn.model.aws_checks import check_aws_rules

        check_aws_rules(cfg, target.region)  # deployed elsewhere than the description's region: that region's offerings
    with out.step(f"reaching AWS at {target.where}", NOTHING_SENT):
        target.session()  # fails early, in one line, without credentials
        target.check_reachable()
    return target


def region_for(args: argparse.Namespace, cfg: StackConfig | None, fallback: str | None = None) -> str:
    """The one region of this run (docs/cli.md); with none given anywhere, `fallback`, else the stack file's default region.
    The stack file's zones and certificates are checked against it when the file names none."""
    from stack_cfn.model.loading import states_region
    from stack_cfn.ship.aws import decide_region

    stated = cfg.region if cfg is not None and states_region(args.config, cfg) else None
    default = fallback or (cfg.region if cfg is not None else "us-east-1")
    region, source = decide_region(args.region, args.profile, stated, default)
    if cfg is not None and region != cfg.region:
        try:
            cfg.with_changes(region=region)
        except ConfigError as exc:
            raise ConfigError(exc.field, f"{exc.problem} (the region used, {region}, comes from {source})", exc.fix) from None
    return region


def stack_name_for(args: argparse.Namespace, cfg: StackConfig | None) -> str:
    """--stack-name when given (never blank: refused at the edge and here), else <name>-<environment> of the stack file."""
    given = getattr(args, "stack_name", None)
    if given is not None:
        if not str(given).strip():
            raise DeployError("--stack-name: is empty; give the stack's name, or leave the flag out for <name>-<environment> of the stack file")
        return str(given)
    if cfg is None:
        raise DeployError(f"--stack-name is required without a stack description ({args.config} not found)")
    return cfg.stack_name


def optional_config(args: argparse.Namespace) -> StackConfig | None:
    """The stack file when there is one; a -c given on the command line must exist."""
    from stack_cfn.flags import given

    path = Path(getattr(args, "config", "stack.yaml"))
    return load_config(path) if given(args, "config") or path.exists() or path.is_symlink() else None


def resolve_bucket(args: argparse.Namespace, target: AwsTarget) -> tuple[str, bool]:
    if args.bucket:
        return args.bucket, bool(args.create_bucket)
    account = target.client("sts").get_caller_identity()["Account"]
    return f"stack-cfn-{account}-{target.region}", True


def _upload(args: argparse.Namespace, out: Reporter, target: AwsTarget, compiled: Compiled) -> Uploaded:
    from stack_cfn.ship import deploy

    bucket, create = resolve_bucket(args, target)
    where = f"s3://{bucket}/{args.prefix}/"
    with out.step(f"uploading templates to {where}", "nothing was deployed; templates already uploaded are reused next time"), \
            out.status(f"uploading templates to {where}"):
        return deploy.upload(target, compiled, bucket, args.prefix, create)


def _change_set(out: Reporter, target: AwsTarget, stack: str, url: str, parameters: dict[str, str], if_interrupted: str,
                capabilities: tuple[str, ...]) -> ChangeSet:
    from stack_cfn.ship import deploy

    with out.step(f"computing the change set of {stack}", if_interrupted), out.status(f"computing the change set of {stack}"):
        return deploy.create_change_set(target, stack, url, parameters, capabilities, say=out.info)


def required_capabilities(compiled: Compiled, top: str) -> tuple[str, ...]:
    """The capabilities of the stack made from a top-level template: derived from its templates, in one place."""
    from stack_cfn.ship.capabilities import of_operation

    return of_operation(compiled.files, compiled.operations, top)


def root_parameters(args: argparse.Namespace, out: Reporter, target: AwsTarget, cfg: StackConfig, stack: str,
                    overrides: dict[str, str] | None = None) -> dict[str, str]:
    """The root's parameters: the container-instance image chosen on purpose (ship/ami.py: kept from the running
    cluster unless ecs_ami or --refresh-ami says otherwise, so an unrelated change never rolls the fleet), then overrides."""
    from stack_cfn.ship import ami

    with out.step("choosing the container-instance image", NOTHING_SENT):
        choice = ami.choose_ecs_ami(target, cfg, stack, refresh=bool(getattr(args, "refresh_ami", False)))
    out.info(choice.describe())
    return {**choice.parameters(), **(overrides or {})}


def group_parameters(stack: str) -> dict[str, str]:
    from stack_cfn.blueprints.interfaces import ServiceGroup

    return {ServiceGroup.RootStackName.name: stack}


def _groups(compiled: Compiled, stack: str) -> list[tuple[str, str]]:
    """(template, stack name) of each service group, in order."""
    return [(g, compiled.stack_name(g, stack)) for g in compiled.groups]


# ---------------------------------------------------------------- commands


def cmd_build(args: argparse.Namespace, out: Reporter) -> int:
    cfg = load(args, out)
    compiled = compile_and_lint(args, cfg, out)
    with out.step(f"writing {args.output}/", "the files written so far are complete; build again"):
        write_tree(Path(args.output), compiled.files, protect=[Path(args.config)])
    record_placement(args, out, compiled)
    out.done(f"wrote {len(compiled.files)} templates to {args.output}/ (root: {compiled.root}), cfn-lint clean")
    return 0


def cmd_templates(args: argparse.Namespace, out: Reporter) -> int:
    with out.step("compiling and linting the generic templates", NOTHING_SENT):
        compiled = compile_generic()
        with out.status("linting templates with cfn-lint"):
            lint_templates(compiled.files)
    with out.step(f"writing {args.output}/", "the files written so far are complete; run it again"):
        write_tree(Path(args.output), compiled.files)
    out.done(f"wrote {len(compiled.files)} generic templates to {args.output}/, cfn-lint clean")
    return 0


def cmd_schema(args: argparse.Namespace, out: Reporter) -> int:
    from stack_cfn.model.schema import GENERATED, schema_json

    path = Path(args.output)
    with out.step(f"writing {path}", "run it again"):
        write_generated(path, schema_json(), GENERATED)
    out.done(f"wrote the stack file's JSON Schema to {path}")
    return 0


def cmd_docs(args: argparse.Namespace, out: Reporter) -> int:
    """The user's stack documented in a Markdown file (-c, -o); with --reference DIR, the project's reference pages."""
    from stack_cfn import docs

    if args.reference is None:
        cfg = load(args, out)
        compiled = compile_stack(cfg, recorded=_recorded(args))
        path = Path(args.output or Path(args.config).with_suffix(".md"))
        with out.step(f"writing {path}", "run it again"):
            write_generated(path, docs.stack_md(cfg, Path(args.config).name, compiled.files, compiled.root), docs.STACK_GENERATED)
        out.done(f"documented {args.config} in {path}: settings, modules, diagram and outputs")
        return 0
    directory = Path(args.reference)
    pages = {"templates.md": docs.templates_md(compile_generic().files), "settings.md": docs.settings_md()}
    with out.step(f"writing {directory}/", "the pages written so far are complete; run it again"):
        make_directory(directory)
        for name, text in pages.items():
            write_generated(directory / name, text, docs.GENERATED)
    out.done(f"wrote {', '.join(f'{directory}/{n}' for n in pages)}")
    return 0


def make_directory(directory: Path) -> None:
    """An output directory, made when missing: a file there, or a path that cannot hold one, is one line."""
    from stack_cfn.ship.files import OutputError

    try:
        directory.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputError(directory, "is a file, not a directory", "give a directory for the pages, such as docs") from None
    except OSError as exc:
        raise OutputError(directory, f"cannot be made ({exc.strerror or exc})", "check the path and its permissions") from None


def _recorded(args: argparse.Namespace) -> Placement:
    from stack_cfn.ship.placement_file import read_placement

    return read_placement(args.config)


def cmd_diagram(args: argparse.Namespace, out: Reporter) -> int:
    """A Mermaid diagram of the stack, on stdout or into a Markdown file."""
    from stack_cfn import docs

    text = docs.diagram(load(args, out))
    if args.output == "-":
        sys.stdout.write(text)
        return 0
    write_generated(Path(args.output), f"{docs.GENERATED}\n\n{text}", docs.GENERATED, stream_ok=True)  # -o >(...) is written, never read
    out.done(f"wrote the diagram to {args.output}")
    return 0


def cmd_upload(args: argparse.Namespace, out: Reporter) -> int:
    cfg = load(args, out)
    compiled = compile_and_lint(args, cfg, out)
    result = _upload(args, out, target_for(args, cfg, out), compiled)
    out.done(f"uploaded {len(result.uploaded)}, unchanged {len(result.skipped)}; " + ", ".join(f"{k}: {v}" for k, v in result.urls.items()))
    return 0


def cmd_plan(args: argparse.Namespace, out: Reporter) -> int:
    """Change sets of the root and its service groups, shown and then removed with everything the plan made
    (uploads, bucket, a new stack's shell)."""
    from stack_cfn.ship import deploy

    cfg, sources = load_sourced(args, out)
    show_sources(out, cfg, sources)
    compiled = compile_and_lint(args, cfg, out)
    target = target_for(args, cfg, out)
    stack = stack_name_for(args, cfg)
    cfn = target.client("cloudformation")
    existed = _live(cfn, stack)
    uploaded, made = None, []
    try:
        uploaded = _upload(args, out, target, compiled)
        made.append((stack, _change_set(out, target, stack, uploaded.root_url, root_parameters(args, out, target, cfg, stack),
                                        "nothing was deployed; what the plan made is removed",
                                        required_capabilities(compiled, compiled.root)), existed))
        out.plan(made[-1][1])
        say_blocked(out, target, made[-1][1])  # what the stack policies would refuse
        for template, name in _groups(compiled, stack):
            if not existed:
                out.info(f"{name}: {len(compiled.operations[template])} service(s), created after {stack} (they import its exports)")
                continue
            group_existed = _live(cfn, name)
            made.append((name, _change_set(out, target, name, uploaded.urls[template], group_parameters(stack), "nothing was deployed",
                                           required_capabilities(compiled, template)), group_existed))
            out.plan(made[-1][1])
            say_blocked(out, target, made[-1][1])
        for stale in _stale_groups(target, compiled, stack):
            out.info(f"!! {stale} would be DELETED with its services: none of them is placed there any more")
    finally:
        for name, cs, stack_existed in made or [(stack, None, existed)]:
            for problem in deploy.discard_plan(target, name, cs, uploaded if name == stack else None, stack_existed=stack_existed):
                out.info(f"warning: {problem}")
    return 0


def _live(cfn: object, stack: str) -> bool:
    """The stack exists with resources (not only the empty shell a change set of an interrupted run left)."""
    from stack_cfn.ship import deploy
    from stack_cfn.ship.aws_errors import busy_means

    with busy_means("DescribeStacks", NOTHING_SENT):
        return deploy.stack_status(cfn, stack) not in (None, "REVIEW_IN_PROGRESS")


def _stale_groups(target: AwsTarget, compiled: Compiled, stack: str) -> list[str]:
    from stack_cfn.ship import deploy

    wanted = {name for _, name in _groups(compiled, stack)}
    return [name for name in deploy.group_stacks(target, stack) if name not in wanted]


@guarded  # stack policies (ship/protect.py): set back in full when the deploy ends, however it ends
def cmd_deploy(args: argparse.Namespace, out: Reporter, parameters: dict[str, str] | None = None,
               target: AwsTarget | None = None, compiled: Compiled | None = None) -> int:
    """The root first, then its service groups together (they import the root's exports); stale groups are deleted first."""
    cfg, sources = load_sourced(args, out)
    show_sources(out, cfg, sources)
    compiled = compile_and_lint(args, cfg, out, compiled)
    target = target or target_for(args, cfg, out)
    stack = stack_name_for(args, cfg)
    guard_deploy(args, out, target, compiled, cfg, stack)  # stack policies set; relaxed for --allow-replace NAME until the deploy ends
    uploaded = _upload(args, out, target, compiled)
    record_placement(args, out, compiled)
    stale = _stale_groups(target, compiled, stack)
    if stale:
        _run(args, out, target, stale, "deleting service groups whose services are placed elsewhere or gone", delete=True)
    _ensure_linked_roles(out, target, compiled)
    cs = _change_set(out, target, stack, uploaded.root_url, root_parameters(args, out, target, cfg, stack, parameters),
                     f"nothing was deployed; a change set may be left pending on {stack}: the next deploy removes it",
                     required_capabilities(compiled, compiled.root))
    changed = [cs] if not cs.empty else []
    if changed:
        out.plan(cs)
        _run(args, out, target, changed, f"waiting for {stack}")
    groups = [_change_set(out, target, name, uploaded.urls[template], group_parameters(stack), "the root is deployed; deploy again for the groups",
                          required_capabilities(compiled, template)) for template, name in _groups(compiled, stack)]
    pending = [g for g in groups if not g.empty]
    for g in pending:
        out.plan(g)
    if pending:
        _run(args, out, target, pending, f"waiting for {len(pending)} service group(s)")
    prune_releases(args, out, sources)
    if not changed and not pending and not stale:
        out.done(f"no changes: stack {stack}{' and its service groups' if groups else ''} up to date")
        return 0
    from stack_cfn.ship.deploy import read_outputs

    out.outputs(read_outputs(target, stack))
    return 0


def _ensure_linked_roles(out: Reporter, target: AwsTarget, compiled: Compiled) -> None:
    """The service-linked roles CloudFormation cannot make on its own for this stack, before its first change set."""
    from stack_cfn.ship import linked_roles

    with out.step("checking the service-linked roles the stack needs", "nothing was deployed; roles already created stay (they are the account's)"):
        for line in linked_roles.ensure(target, compiled.files.values()):
            out.info(line)


def _start(out: Reporter, target: AwsTarget, work: list) -> dict[str, object]:
    """ExecuteChangeSet for each change set, one step each, so that Ctrl-C says which were sent and which left pending."""
    from stack_cfn.ship import deploy

    since: dict[str, object] = {}
    for cs in work:
        sent = f"; {', '.join(since)} started and keep going in CloudFormation" if since else ""
        with out.step(f"starting the change set of {cs.stack_name}",
                      f"the change set {cs.name or cs.arn} of {cs.stack_name} was left pending, not executed (the next deploy removes it){sent}"):
            since[cs.stack_name] = deploy.start(target, cs)
    return since


def _run(args: argparse.Namespace, out: Reporter, target: AwsTarget, work: list, doing: str, delete: bool = False) -> None:
    """Execute change sets (or delete stacks) together, follow them, and fail with the reasons of any that did not finish well."""
    from stack_cfn.ship import deploy

    names = work if delete else [cs.stack_name for cs in work]
    label = names[0] if len(names) == 1 else f"{len(names)} stacks"
    watch = (f"CloudFormation keeps going with {'stack ' if len(names) == 1 else ''}{label}; "
             f"watch it with: aws cloudformation describe-stack-events --stack-name {names[0]}")
    since = {} if delete else _start(out, target, work)
    run = (lambda on_event: deploy.destroy_many(target, work, on_event, args.timeout * 60)) if delete else \
        (lambda on_event: deploy.follow_many(target, since, on_event, args.timeout * 60))
    with out.step(doing, f"stopped waiting. {watch}"):
        statuses = out.follow_many(run, label, args.timeout)
    ok = {"DELETE_COMPLETE"} if delete else deploy.DONE_OK
    for name, status in statuses.items():
        if status not in ok:
            reasons = deploy.failure_reasons(target, name)
            raise DeployError(f"stack {name} ended {status}: " + ("; ".join(reasons) or "see its events"))


def cmd_release(args: argparse.Namespace, out: Reporter) -> int:
    """Ship new image versions of some services through change sets that touch only them (one per stack holding
    them: the root, a service group); record them beside the stack file."""
    from stack_cfn.model.releases import read_releases, releases_path, releases_text
    from stack_cfn.ship import deploy, release

    if args.abort:
        return _abort_release(args, out)
    requests = release.parse_requests(args.services, args.version, args.image)  # checked before anything is read or sent
    if args.json:
        out.machine_output()
    stack_file, sources = load_sourced(args, out)
    cfg = release.released_config(stack_file, requests, args.strategy)  # --strategy: for this release only (model/deployment.py)
    compiled = compile_and_lint(args, cfg, out)
    target = target_for(args, cfg, out)
    stack = stack_name_for(args, cfg)
    uploaded = _upload(args, out, target, compiled)
    holders = sorted({_holder(compiled, name) for name in requests}, key=compiled.stacks.index)
    sets = [_change_set(out, target, compiled.stack_name(top, stack), uploaded.urls[top],
                        root_parameters(args, out, target, cfg, stack) if top == compiled.root else group_parameters(stack),
                        "nothing was released; a change set may be left pending: the next release or deploy removes it",
                        required_capabilities(compiled, top)) for top in holders]
    sets = [cs for cs in sets if not cs.empty]
    if not sets:
        out.done(f"no changes: {', '.join(requests)} already run those versions")
        return _release_summary(args, out, stack, "NO_CHANGES", requests) if args.json else 0
    ids = [s.logical_id for s in cfg.services if s.name in requests]
    foreign = [f for cs in sets for f in release.foreign_changes(cs.changes, ids)]
    if foreign:
        for cs in sets:
            deploy.discard_plan(target, cs.stack_name, cs, None, stack_existed=True)
        raise DeployError(f"the release would also change {', '.join(foreign[:5])}: the stack differs from its stack file in more than these "
                          "versions; deploy it first (stack-cfn deploy), then release")
    for cs in sets:
        out.plan(cs)
    record = lambda: write_generated(releases_path(args.config), releases_text({**sources.kept(read_releases(args.config)),
                                                                                 **release.recorded(requests, sources)}), "stack-cfn release")
    since = _start(out, target, sets)
    if args.no_wait:
        record()
        return _release_summary(args, out, sets[0].stack_name, "UPDATE_IN_PROGRESS", requests)
    watch = f"the release keeps going; watch it with: aws cloudformation describe-stack-events --stack-name {sets[0].stack_name}"
    with out.step(f"waiting for {', '.join(cs.stack_name for cs in sets)} to reach steady state", f"stopped waiting. {watch}"):
        statuses = out.follow_many(lambda on_event: deploy.follow_many(target, since, on_event, args.timeout * 60), sets[0].stack_name, args.timeout)
    for name, status in statuses.items():
        if status not in deploy.DONE_OK:
            raise release.failed(name, status, deploy.failure_reasons(target, name), release.stopped_reasons(target, cfg.cluster_name, requests))
    record()
    return _release_summary(args, out, sets[0].stack_name, statuses[sets[0].stack_name], requests)


def _abort_release(args: argparse.Namespace, out: Reporter) -> int:
    """`release --abort`: stop the stack's in-flight ECS deployments (rollback) and cancel its in-progress updates (ship/abort.py)."""
    from stack_cfn.ship.abort import AbortRequest, abort_release

    if args.services or args.version or args.image or args.strategy:
        raise ConfigError("--abort", "takes no services, versions, images or strategy", "run stack-cfn release --abort on its own")
    cfg, _ = load_sourced(args, out)
    compiled = compile_and_lint(args, cfg, out)
    target = target_for(args, cfg, out)
    stack = stack_name_for(args, cfg)
    request = AbortRequest(tuple(compiled.stack_name(top, stack) for top in compiled.stacks), cfg.cluster_name, tuple(s.name for s in cfg.services))
    with out.step(f"stopping the release of {stack}", "see the services' deployments in the ECS console"):
        result = abort_release(target.client("ecs"), target.client("cloudformation"), request)
    for line in (*(f"rolled back {s}" for s in result.stopped), *(f"cancelled the update of {s}" for s in result.cancelled)):
        out.info(line)
    if result.problems:
        raise DeployError("release --abort did not finish: " + "; ".join(result.problems))
    out.done("nothing was in flight" if result.nothing_in_flight else f"aborted the release of {stack}")
    return 0


def _holder(compiled: Compiled, service: str) -> str:
    """The top-level template whose stack holds a service."""
    number = compiled.placement.groups.get(service, 0)
    return compiled.root if number == 0 else group_file(number)


def _release_summary(args: argparse.Namespace, out: Reporter, stack: str, status: str, requests: dict) -> int:
    if args.json:
        summary = {"stack": stack, "status": status, "released": {name: {"image": r.image, "version": r.version} for name, r in sorted(requests.items())}}
        sys.stdout.write(json.dumps(summary, sort_keys=True) + "\n")
    else:
        out.done(f"released {', '.join(f'{n} {r.version}' for n, r in sorted(requests.items()))} to {stack} ({status})")
    return 0


def cmd_outputs(args: argparse.Namespace, out: Reporter) -> int:
    """The stack's front page: network, cluster, each service's URLs, each database and IAM user, the alarm topic (--json: for machines)."""
    from stack_cfn.ship import outputs

    if args.json:
        out.machine_output()
    cfg = optional_config(args)
    target = target_for(args, cfg, out)
    stack = stack_name_for(args, cfg)
    with out.step(f"reading the outputs of {stack}", "nothing was changed"):
        page = outputs.read_front_page(target, stack, cfg)
    sys.stdout.write(json.dumps(page, indent=2) + "\n" if args.json else outputs.front_page_text(page))  # modules in the stack file's order
    return 0


def cmd_destroy(args: argparse.Namespace, out: Reporter) -> int:
    """The service groups first (they import the root's exports), together; then the root. It names the stack it deletes
    and where the name came from; without a terminal it deletes only with --yes (docs/cli.md)."""
    from stack_cfn.ship import deploy

    cfg = optional_config(args)
    stack = stack_name_for(args, cfg)  # an explicit empty name was refused at the edge: it never means the default
    named_by = "--stack-name" if args.stack_name is not None else f"<name>-<environment> of {args.config}"
    if not args.yes and not interactive():
        raise DeployError(f"destroying stack {stack} (named by {named_by}) needs confirmation: run it in a terminal, or pass --yes")
    target = target_for(args, cfg, out)
    if deploy.stack_status(target.client("cloudformation"), stack) is None:
        raise DeployError(f"stack {stack} does not exist; nothing to destroy")
    groups = deploy.group_stacks(target, stack)
    also = f" and its service groups {', '.join(groups)}" if groups else ""
    out.info(f"deleting stack {stack}{also} at {target.where} (named by {named_by})")
    if not args.yes and not confirmed(f"Delete stack {stack}{also} and everything in them (the log bucket is kept)? Type the stack name: ", stack):
        out.error("not confirmed; nothing deleted")
        return 1
    if groups:
        _run(args, out, target, groups, f"waiting for {len(groups)} service group(s) to be deleted", delete=True)
    from stack_cfn.ship import teardown

    kept = f"{stack} is not deleted yet; destroy again" if groups else "nothing was deleted"
    with out.step("clearing what would keep the cluster from being deleted", kept):
        for line in teardown.unblock(target, stack, kept):
            out.info(line)
    _run(args, out, target, [stack], f"waiting for {stack} to be deleted", delete=True)
    out.done(f"deleted {stack}{also}; the log bucket was retained (DeletionPolicy Retain)")
    return 0


def interactive() -> bool:
    """A person can answer: standard input is a terminal (closed or redirected, it is not)."""
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (OSError, ValueError):
        return False


def confirmed(question: str, expected: str) -> bool:
    """Ask on stderr (stdout may be a pipe), read one line; end of input is a no."""
    sys.stderr.write(question)
    sys.stderr.flush()
    try:
        answer = sys.stdin.readline()
    except (OSError, ValueError, UnicodeDecodeError):
        return False
    return answer.strip() == expected


def cmd_roll(args: argparse.Namespace, out: Reporter) -> int:
    """What an AMI change will replace, in which batches, and the capacity kept in service; changes nothing."""
    from stack_cfn.ship import roll

    cfg = load(args, out)
    target = target_for(args, cfg, out)
    stack = stack_name_for(args, cfg)
    with out.step("reading the cluster", "nothing was changed"):
        group, cluster = roll.read_cluster(target, stack)
        image = roll.target_image(target, args.ami, cfg.ecs_ami)
        plan = roll.plan_roll(roll.read_instances(target, group, cluster), image, cfg.ecs_min_size, group)
    sys.stdout.write(json.dumps(plan.as_dict(), sort_keys=True) + "\n" if args.json else roll.plan_text(plan))  # ids never cut to a width
    return 0


def cmd_stackset(args: argparse.Namespace, out: Reporter) -> int:
    from stack_cfn import flags
    from stack_cfn.ship import stackset

    cfg = load(args, out)
    regions = list(args.regions)  # typed at the edge (flags.regions): known, once each, one partition
    cidrs = dict(args.region_cidr)  # (REGION, CIDR) pairs, one per region
    plans = stackset.region_plans(cfg, regions, cidrs)  # validated before anything is compiled or sent
    if args.region is not None and flags.partition(args.region) != flags.partition(regions[0]):
        raise DeployError(f"--regions: {regions[0]} is in partition {flags.partition(regions[0])} but --region {args.region} is in "
                          f"{flags.partition(args.region)}; a stack set is administered from a region of the partition it deploys to")
    compiled = compile_and_lint(args, cfg, out, compile_stack(cfg, stackset.region_mapping(plans)))
    target = target_for(args, cfg, out)
    uploaded = _upload(args, out, target, compiled)
    if flags.partition(target.region) != flags.partition(regions[0]):
        raise DeployError(f"--regions: {regions[0]} is in partition {flags.partition(regions[0])} but the run's region {target.region} is not; "
                          "a stack set is administered from a region of the partition it deploys to")
    name = args.stack_set_name if args.stack_set_name is not None else cfg.stack_name
    with out.step(f"waiting for stack set {name}", f"stopped waiting; the operation keeps going (aws cloudformation list-stack-set-operations --stack-set-name {name})"):
        result = stackset.deploy_stack_set(
            target, name, uploaded.root_url, plans,
            list(args.accounts) if args.accounts is not None else None,
            failure_tolerance=args.failure_tolerance, max_concurrent=args.max_concurrent,
            administration_role_arn=args.administration_role_arn, execution_role_name=args.execution_role_name,
            on_progress=out.info, timeout=args.timeout * 60, capabilities=required_capabilities(compiled, compiled.root),
        )
    out.stackset(result)
    failed = [i for i in result.instances if i.status != "CURRENT"]
    if failed or result.operation_status != "SUCCEEDED":
        raise DeployError(f"stack set {result.name}: operation {result.operation_status}, {len(failed)} instance(s) not CURRENT")
    return 0


def cmd_up(args: argparse.Namespace, out: Reporter) -> int:
    if not args.local:
        if args.port is not None or args.keep:
            raise DeployError(f"{'--port' if args.port is not None else '--keep'}: only goes with --local (the local AWS); add --local, or drop it")
        return cmd_deploy(args, out)
    try:  # the local AWS is an extra: a plain `pip install stack-cfn` has no moto
        import moto.server  # noqa: F401
    except ModuleNotFoundError as exc:
        raise DeployError(f"--local needs the local AWS, which is not installed ({exc.name or 'moto'}); install it with: pip install 'stack-cfn[local]'") from None
    from stack_cfn.ship.local import LocalAws, check_port_free

    if args.port is not None:
        check_port_free(args.port)  # a busy port is the first and only line, before any progress
    # moto warns about every resource type it does not model; the summary says what was made.
    warnings.filterwarnings("ignore", module=r"moto\..*")
    logging.getLogger("moto").setLevel(logging.ERROR)
    cfg = load(args, out)
    region = region_for(args, cfg, "us-east-1")
    compiled = compile_and_lint(args, cfg, out)  # before the server starts: bad templates fail fast
    local = LocalAws(region=region, port=args.port)
    with out.step("running the local AWS", "the local AWS is stopped and what was deployed to it is gone"):
        with out.status("starting the local AWS (moto) on 127.0.0.1"):
            target = local.start()
        try:
            return _deploy_locally(args, out, cfg, compiled, local, target)
        finally:
            local.stop()


def _deploy_locally(args: argparse.Namespace, out: Reporter, cfg: StackConfig, compiled: Compiled, local: LocalAws, target: AwsTarget) -> int:
    out.info(f"local AWS at {local.endpoint_url} (region {target.region})")
    overrides = local.prepare_for(cfg, target)
    code = cmd_deploy(args, out, parameters=overrides, target=target, compiled=compiled)
    if code == 0:
        out.summary(local.summary(target, stack_name_for(args, cfg)))
    if args.keep:
        endpoint = local.endpoint_url
        local.wait(out.info, (
            f"the local AWS keeps running at {endpoint}; try:\n"
            f"  aws --endpoint-url {endpoint} --region {target.region} cloudformation describe-stacks\n"
            f"  stack-cfn outputs --endpoint-url {endpoint} --region {target.region}\n"
            "Ctrl-C stops it."
        ))
        out.info("stopping the local AWS")
    return code


def cmd_package(args: argparse.Namespace, out: Reporter) -> int:
    """Upload the nested templates and write the bundle a pipeline deploys without stack-cfn (ship/package.py)."""
    from stack_cfn.blueprints.compiler import content_name
    from stack_cfn.ship import package
    from stack_cfn.ship.deploy import nested_keys, s3_url
    from stack_cfn.ship.files import check_target

    cfg = load(args, out)
    compiled = compile_and_lint(args, cfg, out)
    output = Path(args.output)
    check_target(output, protect=[Path(args.config)])  # refused before anything is sent
    target = target_for(args, cfg, out)
    stack = stack_name_for(args, cfg)
    uploaded = _upload(args, out, target, compiled)
    bodies = package.packaged(compiled, {name: s3_url(target, uploaded.bucket, key) for name, key in nested_keys(compiled, args.prefix).items()})
    for top, body in bodies.items():
        if not uploaded.urls[top].endswith("/" + content_name(Path(top).stem, body)):
            raise DeployError(f"{top}: the packaged template differs from the one uploaded; package again")
    where = {"region": target.region, "bucket": uploaded.bucket, "prefix": args.prefix}
    files = package.bundle(compiled, bodies, uploaded.urls, stack, where)
    with out.step(f"writing {output}/", "the templates are uploaded; package again to write the bundle"):
        write_tree(output, files, protect=[Path(args.config)])
    record_placement(args, out, compiled)
    out.done(f"wrote the bundle of {len(compiled.stacks)} stack(s) to {output}/ ({package.MANIFEST} lists them in deploy order); "
             f"uploaded {len(uploaded.uploaded)}, unchanged {len(uploaded.skipped)}")
    return 0


def cmd_check(args: argparse.Namespace, out: Reporter) -> int:
    """Every rule decidable offline, for the description's region and each --region: nothing is written or sent."""
    from stack_cfn.model.aws_checks import check_aws_rules

    cfg = load(args, out)  # the stack file and its own region's rules
    regions = list(args.region or (cfg.region,))  # flags.regions: each known, once, one partition
    for region in regions:
        check_aws_rules(cfg, region, args.stack_name)
    compile_and_lint(args, cfg, out)
    out.done(f"{args.config}: every offline check passed for {', '.join(regions)} (nothing written or sent)")
    return 0
