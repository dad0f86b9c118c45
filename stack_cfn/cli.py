"""The `stack-cfn` command line: parse the flags into a typed request, run the use case, render its result.

The use cases (stack_cfn/usecases/, over the building blocks of app.py) never see argparse, print or ask: this module
does. Adding a command `frob`:
1. stack_cfn/usecases/frob.py: `FrobRequest` and `FrobResult` (frozen dataclasses) and `frob(request, out) -> FrobResult`,
   where `out` is a Progress (ship/report.py) for what it says while it works; the request's shared parts are
   app.StackFile (`source(args)`), app.AwsOptions (`aws(args)`) and app.BucketOptions (`bucket(args)`).
2. Here: its flags in a `_frob_command(command)` called from build_parser (each flag typed by flags.py), and
   `cmd_frob(args, out) -> int` that builds the request from `args`, calls the use case and renders the result
   (out.done for people, sys.stdout for --json); anything it must ask a person is a callback in the request.
3. tests/test_usecases.py checks that the use case imports no argparse and neither prints nor asks.
"""

from __future__ import annotations

import argparse
import errno
import gc
import json
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from stack_cfn import __version__, flags
from stack_cfn.app import DEFAULT_CONFIG, AwsOptions, BucketOptions, StackFile
from stack_cfn.errors import ConfigError, DeployError, StackCfnError
from stack_cfn.ship.report import Reporter, guard_streams, stream_failure, write_error
from stack_cfn.usecases import deploy, destroy, files, inspection, local, package, recover, release, stackset
from stack_cfn.usecases import run as job_run


def aws_errors() -> tuple[type[BaseException], ...]:
    """botocore's errors, once botocore is loaded (a build that never talks to AWS does not import it)."""
    if "botocore" not in sys.modules:
        return ()
    import botocore.exceptions
    import botocore.parsers

    return (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError, botocore.parsers.ResponseParserError)


def one_line(text: object, limit: int = 400) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


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
    except aws_errors() as exc:
        from stack_cfn.ship.aws_errors import said

        out.error(said(exc))
        return 1
    except KeyboardInterrupt:
        out.error(out.interrupted())
        return 130
    except Exception as exc:  # a bug of ours: one line, the traceback on request
        if os.environ.get("STACK_CFN_DEBUG"):
            raise
        out.error(f"internal error ({type(exc).__name__}: {one_line(exc, 200)}); please report it; STACK_CFN_DEBUG=1 shows the traceback")
        return 70


class Parser(argparse.ArgumentParser):
    """argparse, but a bad flag is one line naming it and where help is, exit 2; every value is typed (flags.py):
    no abbreviations, no blank values, no flag given twice unless it is repeatable."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def add_argument(self, *names: Any, **kwargs: Any) -> argparse.Action:
        if names and str(names[0]).startswith("-"):
            action = kwargs.get("action")
            if action in (None, "store"):
                kwargs["action"] = flags.Once
            elif action == "store_true":
                kwargs["action"] = flags.SwitchOnce
            elif action == "append":
                kwargs["action"] = flags.Repeatable
        elif kwargs.get("type") is None:
            kwargs["type"] = flags.nonblank
        return super().add_argument(*names, **kwargs)

    def error(self, message: str) -> NoReturn:
        write_error(f"{message}; see {self.prog} --help")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="stack-cfn", description="Compile a stack description into CloudFormation and deploy it.")
    p.add_argument("--version", action="version", version=f"stack-cfn {__version__}")
    sub = p.add_subparsers(title="commands", metavar="COMMAND", parser_class=Parser)

    def command(name: str, func: Handler, help_: str, config: bool = True, aws: bool = False) -> argparse.ArgumentParser:
        c = sub.add_parser(name, help=help_, description=help_)
        if config:
            c.add_argument("-c", "--config", type=flags.path, default=DEFAULT_CONFIG, help="stack description (YAML), default %(default)s")
        if aws:
            c.add_argument("--region", type=flags.region, help="AWS region; must agree with the stack file's region:, the profile's and AWS_REGION/AWS_DEFAULT_REGION")
            c.add_argument("--profile", type=flags.profile, help="AWS profile from ~/.aws/config")
            c.add_argument("--endpoint-url", type=flags.endpoint_url, help="another AWS endpoint, e.g. a local moto server (or AWS_ENDPOINT_URL)")
            c.add_argument("--timeout", type=flags.minutes, default=60, help="minutes to wait for CloudFormation before giving up waiting (default %(default)s)")
        c.set_defaults(func=func)
        return c

    _file_commands(command)
    _check_command(command)
    _diff_command(command)
    _aws_commands(command)
    return p


Handler = Callable[[argparse.Namespace, Reporter], int]  # parse into the request, run the use case, render: the exit status
Command = Callable[..., argparse.ArgumentParser]


def _file_commands(command: Command) -> None:
    """The commands that only read and write files."""
    c = command("build", cmd_build, "Compile and lint the templates into a directory (build/).")
    c.add_argument("-o", "--output", type=flags.path, default="build", help="output directory, default %(default)s")
    c = command("templates", cmd_templates, "Regenerate the generic drop-in templates (templates/).", config=False)
    c.add_argument("-o", "--output", type=flags.path, default="templates", help="output directory, default %(default)s")

    c = command("schema", cmd_schema, "Write the JSON Schema of the stack file (editors complete and check stack.yaml with it).", config=False)
    c.add_argument("-o", "--output", type=flags.path, default="stack.schema.json", help="output file, default %(default)s")

    c = command("docs", cmd_docs, "Document the stack in a Markdown file: its settings with values, modules, diagram and outputs.")
    c.add_argument("-o", "--output", type=flags.path, help="the Markdown file to write (default: the stack file's name with .md, e.g. stack.md)")
    c.add_argument("--reference", type=flags.path, metavar="DIR", help="instead, write stack-cfn's own reference pages (templates.md, settings.md) into DIR")
    c = command("diagram", cmd_diagram, "Draw the stack as a Mermaid diagram (renders on GitHub and most Markdown viewers).")
    c.add_argument("-o", "--output", type=flags.path, default="-", help="a Markdown file to write, or - for standard output (default)")


def _check_command(command: Command) -> None:
    c = command("check", cmd_check, "Check the description against every rule decidable offline, AWS's region offerings included.")
    c.add_argument("--region", type=flags.regions, help="comma-separated target regions of one partition (default: the description's region)")
    c.add_argument("--stack-name", type=flags.stack_name, help="the stack name the names are derived from (default: <name>-<environment>)")


def _diff_command(command: Command) -> None:
    c = command("diff", cmd_diff, "Compare two builds offline: resources added, modified, replaced, removed; exit 2 when stateful data would be lost.")
    c.add_argument("old", metavar="OLD", help="a build directory (stack-cfn build -o DIR), a stack file, or git:REV (the stack file at a git revision)")
    c.add_argument("new", metavar="NEW", nargs="?", help="the same kinds; default: the stack file (-c) as it is now")
    c.add_argument("--region", type=flags.region, default="us-east-1", help="whose resource schemas decide replacement (default %(default)s)")
    c.add_argument("--json", action="store_true", help="print the changes as JSON on standard output")


def cmd_diff(args: argparse.Namespace, out: Reporter) -> int:
    """Parse into a DiffRequest, render the result (docs/diff.md); the exit status is the result's."""
    from stack_cfn.usecases.changes_text import changes_text
    from stack_cfn.usecases.diff import DiffRequest, diff

    result = diff(DiffRequest(args.old, args.new or str(args.config), Path(args.config), args.region))
    sys.stdout.write(json.dumps(result.changes.as_dict(), indent=2, sort_keys=True) + "\n" if args.json
                     else changes_text(result.changes, result.old_label, result.new_label))
    return result.exit_code


def _aws_commands(command: Command) -> None:
    """The commands that talk to AWS (or a local one)."""
    c = command("upload", cmd_upload, "Upload the nested templates to S3 under content-addressed keys.", aws=True)
    _bucket_args(c)
    c = command("plan", cmd_plan, "Show what a deploy would add, modify, replace or remove.", aws=True)
    _stack_args(c)
    _bucket_args(c)
    _ami_args(c)
    c = command("deploy", cmd_deploy, "Create or update the stack through a change set and follow it.", aws=True)
    _stack_args(c)
    _bucket_args(c)
    _ami_args(c)
    c.add_argument("--allow-replace", action=flags.RepeatableNames, type=flags.nonblank, default=[], metavar="NAME",
                   help="for this deploy only, let the stack policy allow replacing or removing NAME (a database, IAM user or protected logical id; repeatable)")
    _cancel_args(c)
    c = command("outputs", cmd_outputs, "Print the stack's front page: network, cluster, each service's URLs, databases, IAM users, alarms.", aws=True)
    c.add_argument("--json", action="store_true", help="print the outputs as JSON on standard output, for scripts")
    _stack_args(c)
    c = command("destroy", cmd_destroy, "Delete the stack (the log bucket is retained).", aws=True)
    _stack_args(c)
    c.add_argument("--yes", action="store_true", help="do not ask for confirmation (needed without a terminal)")

    _stackset_command(command)
    _recover_command(command)
    c = command("release", cmd_release, "Ship new image versions of services (api=1.4.2 www=1.4.2) through a change set that touches only them.",
                aws=True)
    c.add_argument("services", nargs="*", metavar="SERVICE=VERSION", help="services and their new image tags; or one SERVICE with --version")
    c.add_argument("--version", type=flags.image_tag, help="the new image tag, with one SERVICE")
    c.add_argument("--image", action="append", type=flags.image, default=[], metavar="[SERVICE=]IMAGE",
                   help="a new image too (repeatable, once per service)")
    c.add_argument("--no-wait", action="store_true", help="start the release and return; do not wait for steady state")
    _cancel_args(c)
    c.add_argument("--strategy", default=None, metavar="STRATEGY",
                   help="for this release only: blue_green, canary or linear, on services whose deployment: shifts traffic (docs/deployments.md)")
    c.add_argument("--abort", action="store_true", help="stop an in-flight release: roll its ECS deployments back, cancel the stack update")
    c.add_argument("--json", action="store_true", help="print a JSON summary on standard output, for pipelines")
    _stack_args(c)
    _bucket_args(c)
    c = command("run", cmd_run, "Start a scheduled job now (jobs:); --follow waits for it to stop and exits with its exit code.", aws=True)
    c.add_argument("job", metavar="JOB", help="the job's name in the stack file")
    c.add_argument("--follow", action="store_true", help="wait until the task stops (at most --timeout minutes) and exit with its exit code")
    _stack_args(c)
    c = command("roll", cmd_roll, "Show what an AMI change replaces: instances, batches and the capacity kept in service (changes nothing).",
                aws=True)
    c.add_argument("--ami", default=None, type=flags.ami_id, help="the new image (default: ecs_ami, else the ECS-optimized image SSM names today)")
    c.add_argument("--json", action="store_true", help="print the plan as JSON on standard output")
    _stack_args(c)
    c = command("up", cmd_up, "Build, upload and deploy in one go; with --local, to a local AWS (moto) in this process.", aws=True)
    _stack_args(c)
    _bucket_args(c)
    c.add_argument("--local", action="store_true", help="start a local AWS (moto) on 127.0.0.1 and deploy there")
    c.add_argument("--keep", action="store_true", help="with --local: keep the local AWS running until Ctrl-C")
    c.add_argument("--port", type=flags.port, default=None, help="with --local: port for the local AWS (default: a free one)")
    _package_command(command)


def _recover_command(command: Command) -> None:
    c = command("recover", cmd_recover, "Move a stuck stack on: continue a failed rollback (UPDATE_ROLLBACK_FAILED) or delete a failed "
                "first create (ROLLBACK_COMPLETE), for the root and its service groups; never deletes data.", aws=True)
    _stack_args(c)
    c.add_argument("--skip", action=flags.RepeatableNames, type=flags.nonblank, default=[], metavar="LOGICAL_ID",
                   help="skip this resource blocking the rollback (Nested.LogicalId inside a nested stack; repeatable)")
    c.add_argument("--yes", action="store_true", help="skip every resource blocking the rollback without asking")


def _stackset_command(command: Command) -> None:
    c = command("stackset", cmd_stackset, "Deploy the stack as a StackSet over regions (and accounts) in one operation.", aws=True)
    c.add_argument("--stack-set-name", type=flags.stack_name, help="default: <name>-<environment>")
    c.add_argument("--regions", type=flags.regions, required=True, help="comma-separated regions; region N gets the CIDR shifted by N (10.30 -> 10.31 ...)")
    c.add_argument("--region-cidr", action="append", type=flags.region_cidr, default=[], metavar="REGION=CIDR",
                   help="a region's own VPC CIDR instead of the shifted one (repeatable, once per region)")
    c.add_argument("--accounts", type=flags.accounts, help="comma-separated 12-digit account ids (default: the caller's account)")
    c.add_argument("--failure-tolerance", type=flags.whole_number, default=0, help="stack instances that may fail before the operation stops (default 0)")
    c.add_argument("--max-concurrent", type=flags.positive_number, default=1, help="stack instances deployed at once (default 1)")
    c.add_argument("--administration-role-arn", type=flags.role_arn, help="StackSet administration role (self-managed permissions)")
    c.add_argument("--execution-role-name", type=flags.role_name, help="StackSet execution role name in the target accounts")
    _bucket_args(c)


def _package_command(command: Command) -> None:
    """`package`: the bundle a pipeline (CodePipeline, GitHub Actions, plain aws CLI) deploys without stack-cfn; see docs/pipeline.md."""
    c = command("package", cmd_package, "Upload the nested templates and write a bundle a pipeline deploys as it is "
                "(templates, template configuration files, stack policies, manifest.json).", aws=True)
    c.add_argument("-o", "--output", default="dist", help="bundle directory, default %(default)s")
    _stack_args(c)
    _bucket_args(c)


def _ami_args(c: argparse.ArgumentParser) -> None:
    c.add_argument("--refresh-ami", action="store_true",
                   help="move the container instances to the ECS-optimized image AWS names today (rolls the fleet; default: keep the running image)")


def _stack_args(c: argparse.ArgumentParser) -> None:
    c.add_argument("--stack-name", type=flags.stack_name, help="CloudFormation stack name (default: <name>-<environment> from the description)")


def _cancel_args(c: argparse.ArgumentParser) -> None:
    c.add_argument("--no-cancel", action="store_true",
                   help="when the new ECS tasks keep failing, only say why; do not cancel the stack update (docs/deployments-watch.md)")


def _bucket_args(c: argparse.ArgumentParser) -> None:
    c.add_argument("--bucket", type=flags.bucket_name, help="S3 bucket for templates (default: stack-cfn-<account>-<region>, created when missing)")
    c.add_argument("--create-bucket", action="store_true", help="create --bucket when it does not exist")
    c.add_argument("--prefix", type=flags.key_prefix, default="stack-cfn", help="key prefix in the bucket, default %(default)s")



# ---------------------------------------------------------------- each command: flags -> request, use case, result -> output


def source(args: argparse.Namespace) -> StackFile:
    """The stack file of -c, as written (messages echo it so), and whether -c was given."""
    return StackFile(args.config, flags.given(args, "config"))


def aws(args: argparse.Namespace) -> AwsOptions:
    return AwsOptions(args.region, args.profile, args.endpoint_url, args.timeout, getattr(args, "stack_name", None))


def bucket(args: argparse.Namespace) -> BucketOptions:
    return BucketOptions(args.bucket, bool(args.create_bucket), args.prefix)


def cmd_build(args: argparse.Namespace, out: Reporter) -> int:
    r = files.build(files.BuildRequest(source(args), args.output), out)
    out.done(f"wrote {r.count} templates to {r.output}/ (root: {r.root}), cfn-lint clean")
    return 0


def cmd_templates(args: argparse.Namespace, out: Reporter) -> int:
    r = files.templates(files.TemplatesRequest(args.output), out)
    out.done(f"wrote {r.count} generic templates to {r.output}/, cfn-lint clean")
    return 0


def cmd_schema(args: argparse.Namespace, out: Reporter) -> int:
    r = files.schema(files.SchemaRequest(args.output), out)
    out.done(f"wrote the stack file's JSON Schema to {r.path}")
    return 0


def cmd_docs(args: argparse.Namespace, out: Reporter) -> int:
    r = files.docs(files.DocsRequest(source(args), args.output, args.reference), out)
    if r.config is not None:
        out.done(f"documented {r.config} in {r.written[0]}: settings, modules, diagram and outputs")
    else:
        out.done(f"wrote {', '.join(str(p) for p in r.written)}")
    return 0


def cmd_diagram(args: argparse.Namespace, out: Reporter) -> int:
    r = files.diagram(files.DiagramRequest(source(args), args.output), out)
    if r.written is None:
        sys.stdout.write(r.text)
    else:
        out.done(f"wrote the diagram to {r.written}")
    return 0


def cmd_check(args: argparse.Namespace, out: Reporter) -> int:
    r = files.check(files.CheckRequest(source(args), tuple(args.region or ()), args.stack_name), out)
    out.done(f"{r.config}: every offline check passed for {', '.join(r.regions)} (nothing written or sent)")
    return 0


def cmd_upload(args: argparse.Namespace, out: Reporter) -> int:
    r = deploy.upload(deploy.UploadRequest(source(args), aws(args), bucket(args)), out)
    out.done(f"uploaded {len(r.uploaded)}, unchanged {len(r.skipped)}; " + ", ".join(f"{k}: {v}" for k, v in r.urls.items()))
    return 0


def deploy_request(args: argparse.Namespace) -> deploy.DeployRequest:
    return deploy.DeployRequest(source(args), aws(args), bucket(args), bool(getattr(args, "refresh_ami", False)),
                                tuple(getattr(args, "allow_replace", None) or ()), not getattr(args, "no_cancel", False))


def cmd_plan(args: argparse.Namespace, out: Reporter) -> int:
    result = deploy.plan(deploy_request(args), out)  # the change sets are the output, shown as they are computed
    if result.checks is not None and result.checks.deployed:
        from stack_cfn.usecases.changes_text import drift_text, replacements_text

        sys.stdout.write(drift_text(result.checks.drift, set(result.reverted)) + replacements_text(result.checks.changes))
    return 0


def cmd_deploy(args: argparse.Namespace, out: Reporter) -> int:
    show_deployed(out, deploy.deploy(deploy_request(args), out))
    return 0


def show_deployed(out: Reporter, r: deploy.DeployResult) -> None:
    if r.changed:
        out.outputs(r.outputs)
    else:
        out.done(f"no changes: stack {r.stack}{' and its service groups' if r.has_groups else ''} up to date")


def cmd_up(args: argparse.Namespace, out: Reporter) -> int:
    def shown(r: local.UpResult) -> None:
        show_deployed(out, r.deployed)
        if r.summary is not None:
            out.summary(r.summary)

    local.up(local.UpRequest(deploy_request(args), bool(args.local), bool(args.keep), args.port), out, shown)
    return 0


def cmd_outputs(args: argparse.Namespace, out: Reporter) -> int:
    from stack_cfn.ship.outputs import front_page_text

    if args.json:
        out.machine_output()
    r = inspection.outputs(inspection.OutputsRequest(source(args), aws(args)), out)
    sys.stdout.write(json.dumps(r.page, indent=2) + "\n" if args.json else front_page_text(r.page))  # modules in the stack file's order
    return 0


def cmd_roll(args: argparse.Namespace, out: Reporter) -> int:
    from stack_cfn.ship.roll import plan_text

    r = inspection.roll(inspection.RollRequest(source(args), aws(args), args.ami), out)
    sys.stdout.write(json.dumps(r.plan.as_dict(), sort_keys=True) + "\n" if args.json else plan_text(r.plan))  # ids never cut to a width
    return 0


def cmd_destroy(args: argparse.Namespace, out: Reporter) -> int:
    """Without a terminal it deletes only with --yes (docs/cli.md); with one, the person types the stack name."""
    request = destroy.DestroyRequest(source(args), aws(args), bool(args.yes), confirmed if interactive() else None)
    r = destroy.destroy(request, out)
    if not r.deleted:
        out.error("not confirmed; nothing deleted")
        return 1
    if r.already:
        out.done(f"stack {r.stack} was already deleted ({r.already}); nothing left to destroy")
        return 0
    out.done(f"deleted {r.stack}{r.also}; the log bucket was retained (DeletionPolicy Retain)")
    return 0


def cmd_recover(args: argparse.Namespace, out: Reporter) -> int:
    """Asks per blocking resource in a terminal (y/N); without one, only --skip or --yes skip anything."""
    request = recover.RecoverRequest(source(args), aws(args), tuple(args.skip), bool(args.yes), asked if interactive() else None)
    r = recover.recover(request, out)
    for s in r.stacks:
        if s.skipped:
            out.info(f"{s.stack}: skipped {', '.join(s.skipped)}; they are now out of step with the template: fix them before the next deploy")
        if s.kept:
            out.info(f"{s.stack}: kept in the account: {', '.join(k.physical_id or k.logical_id for k in s.kept)}")
    if not r.ok:
        out.error("not recovered: " + "; ".join(f"{s.stack} {s.final}" for s in r.stacks if not s.ok))
        return 1
    acted = [s for s in r.stacks if s.final]
    out.done("recovered: " + ", ".join(f"{s.stack} {s.final}" for s in acted) + "; deploy again" if acted else f"{r.stack}: nothing to recover")
    return 0


def asked(question: str) -> bool:
    return confirmed(question, "y")


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


def cmd_release(args: argparse.Namespace, out: Reporter) -> int:
    from stack_cfn.ship.release import parse_requests

    if args.abort:
        return _abort_release(args, out)
    releases = parse_requests(args.services, args.version, args.image)  # checked before anything is read or sent
    if args.json:
        out.machine_output()
    r = release.release(release.ReleaseRequest(source(args), aws(args), bucket(args), releases, wait=not args.no_wait, cancel=not args.no_cancel,
                                               strategy=args.strategy), out)
    if not r.changed:
        out.done(f"no changes: {', '.join(releases)} already run those versions")
    if args.json:
        summary = {"stack": r.stack, "status": r.status,
                   "released": {name: {"image": v.image, "version": v.version} for name, v in sorted(r.releases.items())}}
        sys.stdout.write(json.dumps(summary, sort_keys=True) + "\n")
    elif r.changed:
        out.done(f"released {', '.join(f'{n} {v.version}' for n, v in sorted(r.releases.items()))} to {r.stack} ({r.status})")
    return 0


TIMED_OUT_EXIT = 124  # `run --follow` of a run that reached its job's timeout: GNU timeout's status


def cmd_run(args: argparse.Namespace, out: Reporter) -> int:
    """Exit status: the job container's exit code when followed (1 when it stopped without one, 124 when it timed out), else 0 once started."""
    r = job_run.run(job_run.JobRunRequest(source(args), aws(args), args.job, bool(args.follow)), out)
    logs = f"logs: aws logs tail {r.log_group} --log-stream-names {r.log_stream}" if r.log_group else ""
    if not args.follow:
        started = f"execution {r.execution_arn} (the job's timeout applies)" if r.execution_arn else f"task {r.task_id}"
        out.done(f"started {started} of job {r.job} in cluster {r.cluster}; {logs if r.task_arn and logs else 'follow it with --follow'}")
        return 0
    if r.timed_out:
        out.error(f"job {r.job}: timed out; Step Functions ended execution {r.execution_arn.rsplit(':', 1)[-1]}"
                  + (f" and stops task {r.task_id}" if r.task_arn else "") + (f"; {logs}" if logs and r.task_arn else ""))
        return TIMED_OUT_EXIT
    if r.succeeded:
        out.done(f"job {r.job}: task {r.task_id} exited 0")
        return 0
    said = f"exited {r.exit_code}" if r.exit_code is not None else "stopped without an exit code"
    out.error(f"job {r.job}: task {r.task_id} {said}" + (f" ({r.stopped_reason})" if r.stopped_reason else "") + (f"; {logs}" if logs else ""))
    return r.exit_code or 1


def _abort_release(args: argparse.Namespace, out: Reporter) -> int:
    if args.services or args.version or args.image or args.strategy:
        raise ConfigError("--abort", "takes no services, versions, images or strategy", "run stack-cfn release --abort on its own")
    stack, r = release.abort(release.AbortReleaseRequest(source(args), aws(args)), out)
    for line in (*(f"rolled back {s}" for s in r.stopped), *(f"cancelled the update of {s}" for s in r.cancelled)):
        out.info(line)
    if r.problems:
        raise DeployError("release --abort did not finish: " + "; ".join(r.problems))
    out.done("nothing was in flight" if r.nothing_in_flight else f"aborted the release of {stack}")
    return 0


def cmd_stackset(args: argparse.Namespace, out: Reporter) -> int:
    request = stackset.StackSetRequest(
        source(args), aws(args), bucket(args), tuple(args.regions), tuple(args.region_cidr), args.stack_set_name,
        tuple(args.accounts) if args.accounts is not None else None, args.failure_tolerance, args.max_concurrent,
        args.administration_role_arn, args.execution_role_name)
    r = stackset.stackset(request, out)
    out.stackset(r.result)
    if r.failure is not None:
        raise DeployError(r.failure)
    return 0


def cmd_package(args: argparse.Namespace, out: Reporter) -> int:
    from stack_cfn.ship.package import MANIFEST

    r = package.package(package.PackageRequest(source(args), aws(args), bucket(args), args.output), out)
    out.done(f"wrote the bundle of {r.stacks} stack(s) to {r.output}/ ({MANIFEST} lists them in deploy order); "
             f"uploaded {r.uploaded}, unchanged {r.unchanged}")
    return 0


def run() -> NoReturn:
    """The console script: main(), then exit without tearing down the interpreter's objects one by one.

    A build of 1,000 services makes some 150 MiB of small objects that live until exit: the cyclic
    collector walking them again and again, and freeing them one by one at exit, took 0.6 s of a
    1.9 s rebuild. Cycles are still collected, rarely (a long `up --local --keep` stays bounded).
    Output is flushed first; stack-cfn registers no exit handlers of its own, and every file, pool
    and local server is closed before main() returns.

    The standard streams are a Unix tool's (docs/cli.md): closed ones read and write as /dev/null, a reader
    that went away (`| head`) ends the process quietly with status 141 (128 + SIGPIPE), any other failure
    to write standard output (/dev/full, `>&-`) is one line on stderr and status 1."""
    gc.set_threshold(200_000, 50, 1000)  # a build makes millions of objects that live until exit: collect cycles rarely, not never
    guard_streams()
    try:
        code = main()
    except SystemExit as exc:  # --help, --version, a bad flag
        code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
    os._exit(finish(code))


def finish(code: int) -> int:
    """The exit status, once what was written has been flushed: the command's, unless standard output failed."""
    sys.stdout.flush()
    sys.stderr.flush()
    failure = stream_failure(sys.stdout)
    if failure is None:
        return code
    if failure.errno == errno.EPIPE:
        return code or 128 + signal.SIGPIPE
    write_error(f"standard output cannot be written ({failure.strerror or failure}); what the command printed is lost")
    return code or 1


if __name__ == "__main__":
    run()
