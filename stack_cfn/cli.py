"""The `stack-cfn` command line: thin wrappers over the compiler and the deploy module."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

import botocore.exceptions

from stack_cfn import __version__
from stack_cfn.blueprints.compiler import Compiled, compile_generic, compile_stack
from stack_cfn.errors import DeployError, StackCfnError
from stack_cfn.model.config import StackConfig
from stack_cfn.model.loading import load_config
from stack_cfn.ship.aws import AwsTarget
from stack_cfn.ship.files import write_tree
from stack_cfn.ship.lint import lint_templates
from stack_cfn.ship.report import Reporter

DEFAULT_CONFIG = "stack.yaml"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    out = Reporter()
    try:
        return int(args.func(args, out) or 0)
    except StackCfnError as exc:
        out.error(str(exc))
        return 1
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        out.error(f"AWS: {exc}")
        return 1
    except KeyboardInterrupt:
        stack = getattr(args, "stack_name", None) or "<stack>"
        out.error(
            f"interrupted: stopped waiting. CloudFormation keeps going with stack {stack}; "
            f"watch it with: aws cloudformation describe-stack-events --stack-name {stack}"
        )
        return 130


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="stack-cfn", description="Compile a stack description into CloudFormation and deploy it.")
    p.add_argument("--version", action="version", version=f"stack-cfn {__version__}")
    sub = p.add_subparsers(title="commands", metavar="COMMAND")

    def command(name: str, func: object, help_: str, config: bool = True, aws: bool = False) -> argparse.ArgumentParser:
        c = sub.add_parser(name, help=help_, description=help_)
        if config:
            c.add_argument("-c", "--config", default=DEFAULT_CONFIG, help="stack description (YAML), default %(default)s")
        if aws:
            c.add_argument("--region", help="AWS region (default: AWS_REGION, then the description's region)")
            c.add_argument("--profile", help="AWS profile from ~/.aws/config")
            c.add_argument("--endpoint-url", help="another AWS endpoint, e.g. a local moto server (or AWS_ENDPOINT_URL)")
        c.set_defaults(func=func)
        return c

    c = command("build", cmd_build, "Compile and lint the templates into a directory (build/).")
    c.add_argument("-o", "--output", default="build", help="output directory, default %(default)s")
    c = command("templates", cmd_templates, "Regenerate the generic drop-in templates (templates/).", config=False)
    c.add_argument("-o", "--output", default="templates", help="output directory, default %(default)s")

    c = command("upload", cmd_upload, "Upload the nested templates to S3 under content-addressed keys.", aws=True)
    _bucket_args(c)
    c = command("plan", cmd_plan, "Show what a deploy would add, modify, replace or remove.", aws=True)
    _stack_args(c)
    _bucket_args(c)
    c = command("deploy", cmd_deploy, "Create or update the stack through a change set and follow it.", aws=True)
    _stack_args(c)
    _bucket_args(c)
    c = command("outputs", cmd_outputs, "Print the stack's outputs (bastion IP first).", aws=True)
    _stack_args(c)
    c = command("destroy", cmd_destroy, "Delete the stack (the log bucket is retained).", aws=True)
    _stack_args(c)
    c.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    c = command("stackset", cmd_stackset, "Deploy the stack as a StackSet over regions (and accounts) in one operation.", aws=True)
    c.add_argument("--stack-set-name", help="default: <name>-<environment>")
    c.add_argument("--regions", required=True, help="comma-separated regions; region N gets the CIDR shifted by N (10.30 -> 10.31 ...)")
    c.add_argument("--region-cidr", action="append", default=[], metavar="REGION=CIDR", help="a region's own VPC CIDR instead of the shifted one (repeatable)")
    c.add_argument("--accounts", help="comma-separated account ids (default: the caller's account)")
    c.add_argument("--failure-tolerance", type=int, default=0, help="stack instances that may fail before the operation stops (default 0)")
    c.add_argument("--max-concurrent", type=int, default=1, help="stack instances deployed at once (default 1)")
    c.add_argument("--administration-role-arn", help="StackSet administration role (self-managed permissions)")
    c.add_argument("--execution-role-name", help="StackSet execution role name in the target accounts")
    _bucket_args(c)

    c = command("up", cmd_up, "Build, upload and deploy in one go; with --local, to a local AWS (moto) in this process.", aws=True)
    _stack_args(c)
    _bucket_args(c)
    c.add_argument("--local", action="store_true", help="start a local AWS (moto) on 127.0.0.1 and deploy there")
    c.add_argument("--keep", action="store_true", help="with --local: keep the local AWS running until Ctrl-C")
    c.add_argument("--port", type=int, default=0, help="with --local: port for the local AWS (default: a free one)")
    return p


def _stack_args(c: argparse.ArgumentParser) -> None:
    c.add_argument("--stack-name", help="CloudFormation stack name (default: <name>-<environment> from the description)")


def _bucket_args(c: argparse.ArgumentParser) -> None:
    c.add_argument("--bucket", help="S3 bucket for templates (default: stack-cfn-<account>-<region>, created when missing)")
    c.add_argument("--create-bucket", action="store_true", help="create --bucket when it does not exist")
    c.add_argument("--prefix", default="stack-cfn", help="key prefix in the bucket, default %(default)s")


# ---------------------------------------------------------------- helpers


def compile_and_lint(cfg: StackConfig, out: Reporter) -> Compiled:
    compiled = compile_stack(cfg)
    with out.status("linting templates with cfn-lint"):
        lint_templates(compiled.files)
    return compiled


def target_for(args: argparse.Namespace, cfg: StackConfig | None) -> AwsTarget:
    target = AwsTarget.from_env(args.region, args.endpoint_url, args.profile, cfg.region if cfg else "us-east-1")
    target.session()  # fails early, in one line, without credentials
    target.check_reachable()
    return target


def stack_name_for(args: argparse.Namespace, cfg: StackConfig | None) -> str:
    if getattr(args, "stack_name", None):
        return str(args.stack_name)
    if cfg is None:
        raise DeployError("--stack-name is required without a stack description")
    return f"{cfg.name}-{cfg.environment}"


def optional_config(args: argparse.Namespace) -> StackConfig | None:
    path = Path(getattr(args, "config", DEFAULT_CONFIG))
    return load_config(path) if path.exists() else None


def resolve_bucket(args: argparse.Namespace, target: AwsTarget) -> tuple[str, bool]:
    if args.bucket:
        return args.bucket, bool(args.create_bucket)
    account = target.client("sts").get_caller_identity()["Account"]
    return f"stack-cfn-{account}-{target.region}", True


# ---------------------------------------------------------------- commands


def cmd_build(args: argparse.Namespace, out: Reporter) -> int:
    cfg = load_config(args.config)
    compiled = compile_and_lint(cfg, out)
    write_tree(Path(args.output), compiled.files, protect=[Path(args.config)])
    out.done(f"wrote {len(compiled.files)} templates to {args.output}/ (root: {compiled.root}), cfn-lint clean")
    return 0


def cmd_templates(args: argparse.Namespace, out: Reporter) -> int:
    compiled = compile_generic()
    with out.status("linting templates with cfn-lint"):
        lint_templates(compiled.files)
    write_tree(Path(args.output), compiled.files)
    out.done(f"wrote {len(compiled.files)} generic templates to {args.output}/, cfn-lint clean")
    return 0


def cmd_upload(args: argparse.Namespace, out: Reporter) -> int:
    from stack_cfn.ship.deploy import upload

    cfg = load_config(args.config)
    compiled = compile_and_lint(cfg, out)
    target = target_for(args, cfg)
    bucket, create = resolve_bucket(args, target)
    result = upload(target, compiled, bucket, args.prefix, create)
    out.done(f"uploaded {len(result.uploaded)}, unchanged {len(result.skipped)}; root template: {result.root_url}")
    return 0


def cmd_plan(args: argparse.Namespace, out: Reporter) -> int:
    from stack_cfn.ship import deploy

    cfg = load_config(args.config)
    compiled = compile_and_lint(cfg, out)
    target = target_for(args, cfg)
    bucket, create = resolve_bucket(args, target)
    uploaded = deploy.upload(target, compiled, bucket, args.prefix, create)
    cs = deploy.create_change_set(target, stack_name_for(args, cfg), uploaded.root_url, {})
    out.plan(cs)
    if cs.arn:
        target.client("cloudformation").delete_change_set(ChangeSetName=cs.arn)
    return 0


def cmd_deploy(args: argparse.Namespace, out: Reporter, parameters: dict[str, str] | None = None,
               target: AwsTarget | None = None, compiled: Compiled | None = None) -> int:
    from stack_cfn.ship import deploy

    cfg = load_config(args.config)
    compiled = compiled or compile_and_lint(cfg, out)
    target = target or target_for(args, cfg)
    stack = stack_name_for(args, cfg)
    bucket, create = resolve_bucket(args, target)
    with out.status(f"uploading templates to s3://{bucket}/{args.prefix}/"):
        uploaded = deploy.upload(target, compiled, bucket, args.prefix, create)
    cs = deploy.create_change_set(target, stack, uploaded.root_url, parameters or {})
    if cs.empty:
        out.done(f"no changes: stack {stack} is up to date")
        return 0
    out.plan(cs)
    status = out.follow(lambda on_event: deploy.execute(target, cs, on_event=on_event), stack)
    if status not in deploy.DONE_OK:
        reasons = deploy.failure_reasons(target, stack)
        raise DeployError(f"stack {stack} ended {status}: " + ("; ".join(reasons) or "see its events"))
    out.outputs(deploy.read_outputs(target, stack))
    return 0


def cmd_outputs(args: argparse.Namespace, out: Reporter) -> int:
    from stack_cfn.ship.deploy import read_outputs

    cfg = optional_config(args)
    target = target_for(args, cfg)
    out.outputs(read_outputs(target, stack_name_for(args, cfg)))
    return 0


def cmd_destroy(args: argparse.Namespace, out: Reporter) -> int:
    from stack_cfn.ship import deploy

    cfg = optional_config(args)
    target = target_for(args, cfg)
    stack = stack_name_for(args, cfg)
    if not args.yes:
        if not sys.stdin.isatty():
            raise DeployError(f"destroying {stack} needs confirmation: run in a terminal or pass --yes")
        answer = input(f"Delete stack {stack} and everything in it (the log bucket is kept)? Type the stack name: ")
        if answer.strip() != stack:
            out.error("not confirmed; nothing deleted")
            return 1
    status = out.follow(lambda on_event: deploy.destroy(target, stack, on_event=on_event), stack)
    if status != "DELETE_COMPLETE":
        raise DeployError(f"stack {stack} ended {status}: " + "; ".join(deploy.failure_reasons(target, stack)))
    out.done(f"deleted {stack}; the log bucket was retained (DeletionPolicy Retain)")
    return 0


def cmd_stackset(args: argparse.Namespace, out: Reporter) -> int:
    from stack_cfn.ship import stackset
    from stack_cfn.ship.deploy import upload

    cfg = load_config(args.config)
    regions = [r.strip() for r in args.regions.split(",") if r.strip()]
    cidrs = {}
    for item in args.region_cidr:
        region, sep, cidr = item.partition("=")
        if not sep:
            raise DeployError(f"--region-cidr: {item!r} is not REGION=CIDR; write it like eu-west-1=10.40.0.0/16")
        cidrs[region.strip()] = cidr.strip()
    plans = stackset.region_plans(cfg, regions, cidrs)  # validated before anything is compiled or sent
    compiled = compile_stack(cfg, stackset.region_mapping(plans))
    with out.status("linting templates with cfn-lint"):
        lint_templates(compiled.files)
    target = target_for(args, cfg)
    bucket, create = resolve_bucket(args, target)
    uploaded = upload(target, compiled, bucket, args.prefix, create)
    result = stackset.deploy_stack_set(
        target, args.stack_set_name or f"{cfg.name}-{cfg.environment}", uploaded.root_url, plans,
        [a.strip() for a in args.accounts.split(",")] if args.accounts else None,
        failure_tolerance=args.failure_tolerance, max_concurrent=args.max_concurrent,
        administration_role_arn=args.administration_role_arn, execution_role_name=args.execution_role_name,
        on_progress=out.info,
    )
    out.stackset(result)
    failed = [i for i in result.instances if i.status != "CURRENT"]
    if failed or result.operation_status != "SUCCEEDED":
        raise DeployError(f"stack set {result.name}: operation {result.operation_status}, {len(failed)} instance(s) not CURRENT")
    return 0


def cmd_up(args: argparse.Namespace, out: Reporter) -> int:
    if not args.local:
        return cmd_deploy(args, out)
    import warnings

    from stack_cfn.ship.local import LocalAws

    # moto warns about every resource type it does not model; the summary says what was made.
    warnings.filterwarnings("ignore", module=r"moto\..*")
    logging.getLogger("moto").setLevel(logging.ERROR)
    cfg = load_config(args.config)
    compiled = compile_and_lint(cfg, out)  # before the server starts: bad templates fail fast
    local = LocalAws(region=args.region or "us-east-1", port=args.port or None)
    with out.status("starting the local AWS (moto) on 127.0.0.1"):
        target = local.start()
    try:
        out.info(f"local AWS at {local.endpoint_url} (region {target.region})")
        overrides = local.prepare_for(cfg, target)
        code = cmd_deploy(args, out, parameters=overrides, target=target, compiled=compiled)
        if code == 0:
            out.summary(local.summary(target, stack_name_for(args, cfg)))
        if args.keep:
            out.info(
                f"the local AWS keeps running at {local.endpoint_url}; try:\n"
                f"  aws --endpoint-url {local.endpoint_url} --region {target.region} cloudformation describe-stacks\n"
                f"  stack-cfn outputs --endpoint-url {local.endpoint_url} --region {target.region}\n"
                "Ctrl-C stops it."
            )
            local.wait()
        return code
    finally:
        local.stop()


if __name__ == "__main__":
    sys.exit(main())
