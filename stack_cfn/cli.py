"""The `stack-cfn` command line: parse, hand over to the use cases (app.py), report in one line."""

from __future__ import annotations

import argparse
import errno
import gc
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from stack_cfn import __version__, app, flags
from stack_cfn.errors import StackCfnError
from stack_cfn.ship.report import Reporter, guard_streams, stream_failure, write_error

DEFAULT_CONFIG = "stack.yaml"


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
    except aws_errors() as exc:  # type: ignore[misc]
        out.error(f"AWS: {one_line(exc)}")
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

    def command(name: str, func: object, help_: str, config: bool = True, aws: bool = False) -> argparse.ArgumentParser:
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
    _aws_commands(command)
    return p


Command = Callable[..., argparse.ArgumentParser]


def _file_commands(command: Command) -> None:
    """The commands that only read and write files."""
    c = command("build", app.cmd_build, "Compile and lint the templates into a directory (build/).")
    c.add_argument("-o", "--output", type=flags.path, default="build", help="output directory, default %(default)s")
    c = command("templates", app.cmd_templates, "Regenerate the generic drop-in templates (templates/).", config=False)
    c.add_argument("-o", "--output", type=flags.path, default="templates", help="output directory, default %(default)s")

    c = command("schema", app.cmd_schema, "Write the JSON Schema of the stack file (editors complete and check stack.yaml with it).", config=False)
    c.add_argument("-o", "--output", type=flags.path, default="stack.schema.json", help="output file, default %(default)s")

    c = command("docs", app.cmd_docs, "Document the stack in a Markdown file: its settings with values, modules, diagram and outputs.")
    c.add_argument("-o", "--output", type=flags.path, help="the Markdown file to write (default: the stack file's name with .md, e.g. stack.md)")
    c.add_argument("--reference", type=flags.path, metavar="DIR", help="instead, write stack-cfn's own reference pages (templates.md, settings.md) into DIR")
    c = command("diagram", app.cmd_diagram, "Draw the stack as a Mermaid diagram (renders on GitHub and most Markdown viewers).")
    c.add_argument("-o", "--output", type=flags.path, default="-", help="a Markdown file to write, or - for standard output (default)")


def _check_command(command: Command) -> None:
    c = command("check", app.cmd_check, "Check the description against every rule decidable offline, AWS's region offerings included.")
    c.add_argument("--region", type=flags.regions, help="comma-separated target regions of one partition (default: the description's region)")
    c.add_argument("--stack-name", type=flags.stack_name, help="the stack name the names are derived from (default: <name>-<environment>)")


def _aws_commands(command: Command) -> None:
    """The commands that talk to AWS (or a local one)."""
    c = command("upload", app.cmd_upload, "Upload the nested templates to S3 under content-addressed keys.", aws=True)
    _bucket_args(c)
    c = command("plan", app.cmd_plan, "Show what a deploy would add, modify, replace or remove.", aws=True)
    _stack_args(c)
    _bucket_args(c)
    _ami_args(c)
    c = command("deploy", app.cmd_deploy, "Create or update the stack through a change set and follow it.", aws=True)
    _stack_args(c)
    _bucket_args(c)
    _ami_args(c)
    c.add_argument("--allow-replace", action=flags.RepeatableNames, type=flags.nonblank, default=[], metavar="NAME",
                   help="for this deploy only, let the stack policy allow replacing or removing NAME (a database, IAM user or protected logical id; repeatable)")
    c = command("outputs", app.cmd_outputs, "Print the stack's front page: network, cluster, each service's URLs, databases, IAM users, alarms.", aws=True)
    c.add_argument("--json", action="store_true", help="print the outputs as JSON on standard output, for scripts")
    _stack_args(c)
    c = command("destroy", app.cmd_destroy, "Delete the stack (the log bucket is retained).", aws=True)
    _stack_args(c)
    c.add_argument("--yes", action="store_true", help="do not ask for confirmation (needed without a terminal)")

    _stackset_command(command)
    c = command("release", app.cmd_release, "Ship new image versions of services (api=1.4.2 www=1.4.2) through a change set that touches only them.",
                aws=True)
    c.add_argument("services", nargs="*", metavar="SERVICE=VERSION", help="services and their new image tags; or one SERVICE with --version")
    c.add_argument("--version", type=flags.image_tag, help="the new image tag, with one SERVICE")
    c.add_argument("--image", action="append", type=flags.image, default=[], metavar="[SERVICE=]IMAGE",
                   help="a new image too (repeatable, once per service)")
    c.add_argument("--no-wait", action="store_true", help="start the release and return; do not wait for steady state")
    c.add_argument("--strategy", default=None, metavar="STRATEGY",
                   help="for this release only: blue_green, canary or linear, on services whose deployment: shifts traffic (docs/deployments.md)")
    c.add_argument("--abort", action="store_true", help="stop an in-flight release: roll its ECS deployments back, cancel the stack update")
    c.add_argument("--json", action="store_true", help="print a JSON summary on standard output, for pipelines")
    _stack_args(c)
    _bucket_args(c)
    c = command("roll", app.cmd_roll, "Show what an AMI change replaces: instances, batches and the capacity kept in service (changes nothing).",
                aws=True)
    c.add_argument("--ami", default=None, type=flags.ami_id, help="the new image (default: ecs_ami, else the ECS-optimized image SSM names today)")
    c.add_argument("--json", action="store_true", help="print the plan as JSON on standard output")
    _stack_args(c)
    c = command("up", app.cmd_up, "Build, upload and deploy in one go; with --local, to a local AWS (moto) in this process.", aws=True)
    _stack_args(c)
    _bucket_args(c)
    c.add_argument("--local", action="store_true", help="start a local AWS (moto) on 127.0.0.1 and deploy there")
    c.add_argument("--keep", action="store_true", help="with --local: keep the local AWS running until Ctrl-C")
    c.add_argument("--port", type=flags.port, default=None, help="with --local: port for the local AWS (default: a free one)")
    _package_command(command)


def _stackset_command(command: Command) -> None:
    c = command("stackset", app.cmd_stackset, "Deploy the stack as a StackSet over regions (and accounts) in one operation.", aws=True)
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
    c = command("package", app.cmd_package, "Upload the nested templates and write a bundle a pipeline deploys as it is "
                "(templates, template configuration files, stack policies, manifest.json).", aws=True)
    c.add_argument("-o", "--output", default="dist", help="bundle directory, default %(default)s")
    _stack_args(c)
    _bucket_args(c)


def _ami_args(c: argparse.ArgumentParser) -> None:
    c.add_argument("--refresh-ami", action="store_true",
                   help="move the container instances to the ECS-optimized image AWS names today (rolls the fleet; default: keep the running image)")


def _stack_args(c: argparse.ArgumentParser) -> None:
    c.add_argument("--stack-name", type=flags.stack_name, help="CloudFormation stack name (default: <name>-<environment> from the description)")


def _bucket_args(c: argparse.ArgumentParser) -> None:
    c.add_argument("--bucket", type=flags.bucket_name, help="S3 bucket for templates (default: stack-cfn-<account>-<region>, created when missing)")
    c.add_argument("--create-bucket", action="store_true", help="create --bucket when it does not exist")
    c.add_argument("--prefix", type=flags.key_prefix, default="stack-cfn", help="key prefix in the bucket, default %(default)s")




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
