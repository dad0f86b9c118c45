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
from stack_cfn.errors import DeployError
from stack_cfn.model.config import StackConfig
from stack_cfn.model.loading import load_config
from stack_cfn.ship.aws import AwsTarget
from stack_cfn.ship.files import write_generated, write_tree
from stack_cfn.ship.lint import lint_templates
from stack_cfn.ship.report import Reporter

if TYPE_CHECKING:
    from stack_cfn.ship.deploy import ChangeSet, Uploaded
    from stack_cfn.ship.local import LocalAws

NOTHING_SENT = "nothing was written or sent"


def load(args: argparse.Namespace, out: Reporter) -> StackConfig:
    """The stack file, validated; what is legal but unwise is said as a warning."""
    cfg = load_config(args.config)
    for warning in cfg.warnings:
        out.info(f"warning: {warning}")
    return cfg


def compile_and_lint(cfg: StackConfig, out: Reporter, compiled: Compiled | None = None) -> Compiled:
    if compiled is not None and compiled.linted:
        return compiled
    with out.step("compiling and linting the templates", NOTHING_SENT):
        compiled = compiled or compile_stack(cfg)
        with out.status("linting templates with cfn-lint"):
            lint_templates(compiled.files)
    return dataclasses.replace(compiled, linted=True)


def target_for(args: argparse.Namespace, cfg: StackConfig | None, out: Reporter) -> AwsTarget:
    target = AwsTarget.from_env(args.region, args.endpoint_url, args.profile, cfg.region if cfg else "us-east-1")
    with out.step(f"reaching AWS at {target.where}", NOTHING_SENT):
        target.session()  # fails early, in one line, without credentials
        target.check_reachable()
    return target


def stack_name_for(args: argparse.Namespace, cfg: StackConfig | None) -> str:
    if getattr(args, "stack_name", None):
        return str(args.stack_name)
    if cfg is None:
        raise DeployError(f"--stack-name is required without a stack description ({args.config} not found)")
    return f"{cfg.name}-{cfg.environment}"


def optional_config(args: argparse.Namespace) -> StackConfig | None:
    path = Path(getattr(args, "config", "stack.yaml"))
    return load_config(path) if path.exists() else None


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


def _change_set(out: Reporter, target: AwsTarget, stack: str, uploaded: Uploaded, parameters: dict[str, str], if_interrupted: str) -> ChangeSet:
    from stack_cfn.ship import deploy

    with out.step(f"computing the change set of {stack}", if_interrupted), out.status(f"computing the change set of {stack}"):
        return deploy.create_change_set(target, stack, uploaded.root_url, parameters)


# ---------------------------------------------------------------- commands


def cmd_build(args: argparse.Namespace, out: Reporter) -> int:
    cfg = load(args, out)
    compiled = compile_and_lint(cfg, out)
    with out.step(f"writing {args.output}/", "the files written so far are complete; build again"):
        write_tree(Path(args.output), compiled.files, protect=[Path(args.config)])
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
    """docs/templates.md from the generic templates, docs/settings.md from the model."""
    from stack_cfn import docs

    directory = Path(args.output)
    pages = {"templates.md": docs.templates_md(compile_generic().files), "settings.md": docs.settings_md()}
    with out.step(f"writing {directory}/", "the pages written so far are complete; run it again"):
        directory.mkdir(parents=True, exist_ok=True)
        for name, text in pages.items():
            write_generated(directory / name, text, docs.GENERATED)
    out.done(f"wrote {', '.join(f'{directory}/{n}' for n in pages)}")
    return 0


def cmd_diagram(args: argparse.Namespace, out: Reporter) -> int:
    """A Mermaid diagram of the stack, on stdout or into a Markdown file."""
    from stack_cfn import docs

    text = docs.diagram(load(args, out))
    if args.output == "-":
        sys.stdout.write(text)
        return 0
    write_generated(Path(args.output), f"{docs.GENERATED}\n\n{text}", docs.GENERATED)
    out.done(f"wrote the diagram to {args.output}")
    return 0


def cmd_upload(args: argparse.Namespace, out: Reporter) -> int:
    cfg = load(args, out)
    compiled = compile_and_lint(cfg, out)
    result = _upload(args, out, target_for(args, cfg, out), compiled)
    out.done(f"uploaded {len(result.uploaded)}, unchanged {len(result.skipped)}; root template: {result.root_url}")
    return 0


def cmd_plan(args: argparse.Namespace, out: Reporter) -> int:
    """A change set, shown and then removed with everything the plan made (uploads, bucket, a new stack's shell)."""
    from stack_cfn.ship import deploy

    cfg = load(args, out)
    compiled = compile_and_lint(cfg, out)
    target = target_for(args, cfg, out)
    stack = stack_name_for(args, cfg)
    existed = deploy.stack_status(target.client("cloudformation"), stack) is not None
    uploaded, cs = None, None
    try:
        uploaded = _upload(args, out, target, compiled)
        cs = _change_set(out, target, stack, uploaded, {}, "nothing was deployed; what the plan made is removed")
        out.plan(cs)
    finally:
        for problem in deploy.discard_plan(target, stack, cs, uploaded, stack_existed=existed):
            out.info(f"warning: {problem}")
    return 0


def cmd_deploy(args: argparse.Namespace, out: Reporter, parameters: dict[str, str] | None = None,
               target: AwsTarget | None = None, compiled: Compiled | None = None) -> int:
    from stack_cfn.ship import deploy

    cfg = load(args, out)
    compiled = compile_and_lint(cfg, out, compiled)
    target = target or target_for(args, cfg, out)
    stack = stack_name_for(args, cfg)
    uploaded = _upload(args, out, target, compiled)
    cs = _change_set(out, target, stack, uploaded, parameters or {}, f"nothing was deployed; the change set stays on {stack} until the next deploy")
    if cs.empty:
        out.done(f"no changes: stack {stack} is up to date")
        return 0
    out.plan(cs)
    watch = f"CloudFormation keeps going with stack {stack}; watch it with: aws cloudformation describe-stack-events --stack-name {stack}"
    with out.step(f"waiting for {stack}", f"stopped waiting. {watch}"):
        status = out.follow(lambda on_event: deploy.execute(target, cs, on_event=on_event, timeout=args.timeout * 60), stack, args.timeout)
    if status not in deploy.DONE_OK:
        reasons = deploy.failure_reasons(target, stack)
        raise DeployError(f"stack {stack} ended {status}: " + ("; ".join(reasons) or "see its events"))
    out.outputs(deploy.read_outputs(target, stack))
    return 0


def cmd_release(args: argparse.Namespace, out: Reporter) -> int:
    """Ship new image versions of some services through a change set that touches only them; record them beside the stack file."""
    from stack_cfn.model.releases import read_releases, releases_path, releases_text
    from stack_cfn.ship import deploy, release

    requests = release.parse_requests(args.services, args.version, args.image)  # checked before anything is read or sent
    cfg = release.released_config(load(args, out), requests)
    compiled = compile_and_lint(cfg, out)
    target = target_for(args, cfg, out)
    stack = stack_name_for(args, cfg)
    uploaded = _upload(args, out, target, compiled)
    cs = _change_set(out, target, stack, uploaded, {}, "nothing was released; the change set is removed")
    services = [s for s in cfg.services if s.name in requests]
    if cs.empty:
        out.done(f"no changes: {', '.join(requests)} already run those versions")
        return 0
    foreign = release.foreign_changes(cs.changes, [s.logical_id for s in services])
    if foreign:
        deploy.discard_plan(target, stack, cs, None, stack_existed=True)
        raise DeployError(f"the release would also change {', '.join(foreign[:5])}: the stack differs from its stack file in more than these "
                          "versions; deploy it first (stack-cfn deploy), then release")
    out.plan(cs)
    watch = f"the release keeps going; watch it with: aws cloudformation describe-stack-events --stack-name {stack}"
    record = lambda: write_generated(releases_path(args.config), releases_text({**read_releases(args.config), **requests}), "stack-cfn release")
    if args.no_wait:
        deploy.execute_only(target, cs)
        record()
        return _release_summary(args, out, stack, "UPDATE_IN_PROGRESS", requests)
    with out.step(f"waiting for {stack} to reach steady state", f"stopped waiting. {watch}"):
        status = out.follow(lambda on_event: deploy.execute(target, cs, on_event=on_event, timeout=args.timeout * 60), stack, args.timeout)
    if status not in deploy.DONE_OK:
        raise release.failed(stack, status, deploy.failure_reasons(target, stack), release.stopped_reasons(target, cfg.cluster_name, requests))
    record()
    return _release_summary(args, out, stack, status, requests)


def _release_summary(args: argparse.Namespace, out: Reporter, stack: str, status: str, requests: dict) -> int:
    if args.json:
        summary = {"stack": stack, "status": status, "released": {name: dataclasses.asdict(r) for name, r in sorted(requests.items())}}
        sys.stdout.write(json.dumps(summary, sort_keys=True) + "\n")
    else:
        out.done(f"released {', '.join(f'{n} {r.version}' for n, r in sorted(requests.items()))} to {stack} ({status})")
    return 0


def cmd_outputs(args: argparse.Namespace, out: Reporter) -> int:
    from stack_cfn.ship.deploy import read_outputs

    cfg = optional_config(args)
    target = target_for(args, cfg, out)
    out.outputs(read_outputs(target, stack_name_for(args, cfg)))
    return 0


def cmd_destroy(args: argparse.Namespace, out: Reporter) -> int:
    from stack_cfn.ship import deploy

    cfg = optional_config(args)
    target = target_for(args, cfg, out)
    stack = stack_name_for(args, cfg)
    if not args.yes:
        if not sys.stdin.isatty():
            raise DeployError(f"destroying {stack} needs confirmation: run in a terminal or pass --yes")
        answer = input(f"Delete stack {stack} and everything in it (the log bucket is kept)? Type the stack name: ")
        if answer.strip() != stack:
            out.error("not confirmed; nothing deleted")
            return 1
    watch = f"CloudFormation keeps deleting {stack}; watch it with: aws cloudformation describe-stack-events --stack-name {stack}"
    with out.step(f"waiting for {stack} to be deleted", f"stopped waiting. {watch}"):
        status = out.follow(lambda on_event: deploy.destroy(target, stack, on_event=on_event, timeout=args.timeout * 60), stack, args.timeout)
    if status != "DELETE_COMPLETE":
        raise DeployError(f"stack {stack} ended {status}: " + "; ".join(deploy.failure_reasons(target, stack)))
    out.done(f"deleted {stack}; the log bucket was retained (DeletionPolicy Retain)")
    return 0


def cmd_stackset(args: argparse.Namespace, out: Reporter) -> int:
    from stack_cfn.ship import stackset

    cfg = load(args, out)
    regions = [r.strip() for r in args.regions.split(",") if r.strip()]
    cidrs = {}
    for item in args.region_cidr:
        region, sep, cidr = item.partition("=")
        if not sep:
            raise DeployError(f"--region-cidr: {item!r} is not REGION=CIDR; write it like eu-west-1=10.40.0.0/16")
        cidrs[region.strip()] = cidr.strip()
    plans = stackset.region_plans(cfg, regions, cidrs)  # validated before anything is compiled or sent
    compiled = compile_and_lint(cfg, out, compile_stack(cfg, stackset.region_mapping(plans)))
    target = target_for(args, cfg, out)
    uploaded = _upload(args, out, target, compiled)
    name = args.stack_set_name or f"{cfg.name}-{cfg.environment}"
    with out.step(f"waiting for stack set {name}", f"stopped waiting; the operation keeps going (aws cloudformation list-stack-set-operations --stack-set-name {name})"):
        result = stackset.deploy_stack_set(
            target, name, uploaded.root_url, plans,
            [a.strip() for a in args.accounts.split(",")] if args.accounts else None,
            failure_tolerance=args.failure_tolerance, max_concurrent=args.max_concurrent,
            administration_role_arn=args.administration_role_arn, execution_role_name=args.execution_role_name,
            on_progress=out.info, timeout=args.timeout * 60,
        )
    out.stackset(result)
    failed = [i for i in result.instances if i.status != "CURRENT"]
    if failed or result.operation_status != "SUCCEEDED":
        raise DeployError(f"stack set {result.name}: operation {result.operation_status}, {len(failed)} instance(s) not CURRENT")
    return 0


def cmd_up(args: argparse.Namespace, out: Reporter) -> int:
    if not args.local:
        return cmd_deploy(args, out)
    from stack_cfn.ship.local import LocalAws

    # moto warns about every resource type it does not model; the summary says what was made.
    warnings.filterwarnings("ignore", module=r"moto\..*")
    logging.getLogger("moto").setLevel(logging.ERROR)
    cfg = load(args, out)
    compiled = compile_and_lint(cfg, out)  # before the server starts: bad templates fail fast
    local = LocalAws(region=args.region or "us-east-1", port=args.port or None)
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
