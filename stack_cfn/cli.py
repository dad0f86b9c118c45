"""The `stack-cfn` command line: parse, hand over to the use cases (app.py), report in one line."""

from __future__ import annotations

import argparse
import gc
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from stack_cfn import __version__, app
from stack_cfn.errors import StackCfnError
from stack_cfn.model.rules import BUCKET_NAME
from stack_cfn.ship.report import Reporter

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


def port_number(text: str) -> int:
    return _number(text, 0, 65535, "a port from 1 to 65535")


def minutes(text: str) -> int:
    return _number(text, 1, 24 * 60, "minutes from 1 to 1440")


def whole_number(text: str) -> int:
    return _number(text, 0, 10**6, "a whole number, 0 or more")


def positive_number(text: str) -> int:
    return _number(text, 1, 10**6, "a whole number, 1 or more")


def _number(text: str, low: int, high: int, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"{value} is not {what}")
    return value


class Parser(argparse.ArgumentParser):
    """argparse, but a bad flag is one line naming it and where help is, exit 2."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"error: {one_line(message)}; see {self.prog} --help\n")
        sys.exit(2)


def ami_id(text: str) -> str:
    from stack_cfn.model.rules import AMI_ID

    problem = AMI_ID.problem(text) if text else None
    if problem:
        raise argparse.ArgumentTypeError(f"{problem}; {AMI_ID.fix}")
    return text


def bucket_name(text: str) -> str:
    problem = BUCKET_NAME.problem(text)
    if problem:
        raise argparse.ArgumentTypeError(f"{problem}; {BUCKET_NAME.fix}")
    return text


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="stack-cfn", description="Compile a stack description into CloudFormation and deploy it.")
    p.add_argument("--version", action="version", version=f"stack-cfn {__version__}")
    sub = p.add_subparsers(title="commands", metavar="COMMAND", parser_class=Parser)

    def command(name: str, func: object, help_: str, config: bool = True, aws: bool = False) -> argparse.ArgumentParser:
        c = sub.add_parser(name, help=help_, description=help_)
        if config:
            c.add_argument("-c", "--config", default=DEFAULT_CONFIG, help="stack description (YAML), default %(default)s")
        if aws:
            c.add_argument("--region", help="AWS region (default: AWS_REGION, then the description's region)")
            c.add_argument("--profile", help="AWS profile from ~/.aws/config")
            c.add_argument("--endpoint-url", help="another AWS endpoint, e.g. a local moto server (or AWS_ENDPOINT_URL)")
            c.add_argument("--timeout", type=minutes, default=60, help="minutes to wait for CloudFormation before giving up waiting (default %(default)s)")
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
    c.add_argument("-o", "--output", default="build", help="output directory, default %(default)s")
    c = command("templates", app.cmd_templates, "Regenerate the generic drop-in templates (templates/).", config=False)
    c.add_argument("-o", "--output", default="templates", help="output directory, default %(default)s")

    c = command("schema", app.cmd_schema, "Write the JSON Schema of the stack file (editors complete and check stack.yaml with it).", config=False)
    c.add_argument("-o", "--output", default="stack.schema.json", help="output file, default %(default)s")

    c = command("docs", app.cmd_docs, "Write the reference docs: docs/templates.md (from the templates) and docs/settings.md (from the model).",
                config=False)
    c.add_argument("-o", "--output", default="docs", help="output directory, default %(default)s")
    c = command("diagram", app.cmd_diagram, "Draw the stack as a Mermaid diagram (renders on GitHub and most Markdown viewers).")
    c.add_argument("-o", "--output", default="-", help="a Markdown file to write, or - for standard output (default)")


def _check_command(command: Command) -> None:
    c = command("check", app.cmd_check, "Check the description against every rule decidable offline, AWS's region offerings included.")
    c.add_argument("--region", help="comma-separated target regions (default: the description's region)")
    c.add_argument("--stack-name", help="the stack name the names are derived from (default: <name>-<environment>)")


def _aws_commands(command: Command) -> None:
    """The commands that talk to AWS (or a local one)."""
    c = command("upload", app.cmd_upload, "Upload the nested templates to S3 under content-addressed keys.", aws=True)
    _bucket_args(c)
    c = command("plan", app.cmd_plan, "Show what a deploy would add, modify, replace or remove.", aws=True)
    _stack_args(c)
    _bucket_args(c)
    c = command("deploy", app.cmd_deploy, "Create or update the stack through a change set and follow it.", aws=True)
    _stack_args(c)
    _bucket_args(c)
    c = command("outputs", app.cmd_outputs, "Print the stack's outputs (bastion IP first).", aws=True)
    _stack_args(c)
    c = command("destroy", app.cmd_destroy, "Delete the stack (the log bucket is retained).", aws=True)
    _stack_args(c)
    c.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    _stackset_command(command)
    c = command("release", app.cmd_release, "Ship new image versions of services (api=1.4.2 www=1.4.2) through a change set that touches only them.",
                aws=True)
    c.add_argument("services", nargs="*", metavar="SERVICE=VERSION", help="services and their new image tags; or one SERVICE with --version")
    c.add_argument("--version", help="the new image tag, with one SERVICE")
    c.add_argument("--image", action="append", default=[], metavar="[SERVICE=]IMAGE", help="a new image too (repeatable)")
    c.add_argument("--no-wait", action="store_true", help="start the release and return; do not wait for steady state")
    c.add_argument("--json", action="store_true", help="print a JSON summary on standard output, for pipelines")
    _stack_args(c)
    _bucket_args(c)
    c = command("roll", app.cmd_roll, "Show what an AMI change replaces: instances, batches and the capacity kept in service (changes nothing).",
                aws=True)
    c.add_argument("--ami", default="", type=ami_id, help="the new image (default: ecs_ami, else the ECS-optimized image SSM names today)")
    c.add_argument("--json", action="store_true", help="print the plan as JSON on standard output")
    _stack_args(c)
    c = command("up", app.cmd_up, "Build, upload and deploy in one go; with --local, to a local AWS (moto) in this process.", aws=True)
    _stack_args(c)
    _bucket_args(c)
    c.add_argument("--local", action="store_true", help="start a local AWS (moto) on 127.0.0.1 and deploy there")
    c.add_argument("--keep", action="store_true", help="with --local: keep the local AWS running until Ctrl-C")
    c.add_argument("--port", type=port_number, default=0, help="with --local: port for the local AWS (default: a free one)")


def _stackset_command(command: Command) -> None:
    c = command("stackset", app.cmd_stackset, "Deploy the stack as a StackSet over regions (and accounts) in one operation.", aws=True)
    c.add_argument("--stack-set-name", help="default: <name>-<environment>")
    c.add_argument("--regions", required=True, help="comma-separated regions; region N gets the CIDR shifted by N (10.30 -> 10.31 ...)")
    c.add_argument("--region-cidr", action="append", default=[], metavar="REGION=CIDR", help="a region's own VPC CIDR instead of the shifted one (repeatable)")
    c.add_argument("--accounts", help="comma-separated account ids (default: the caller's account)")
    c.add_argument("--failure-tolerance", type=whole_number, default=0, help="stack instances that may fail before the operation stops (default 0)")
    c.add_argument("--max-concurrent", type=positive_number, default=1, help="stack instances deployed at once (default 1)")
    c.add_argument("--administration-role-arn", help="StackSet administration role (self-managed permissions)")
    c.add_argument("--execution-role-name", help="StackSet execution role name in the target accounts")
    _bucket_args(c)


def _stack_args(c: argparse.ArgumentParser) -> None:
    c.add_argument("--stack-name", help="CloudFormation stack name (default: <name>-<environment> from the description)")


def _bucket_args(c: argparse.ArgumentParser) -> None:
    c.add_argument("--bucket", type=bucket_name, help="S3 bucket for templates (default: stack-cfn-<account>-<region>, created when missing)")
    c.add_argument("--create-bucket", action="store_true", help="create --bucket when it does not exist")
    c.add_argument("--prefix", default="stack-cfn", help="key prefix in the bucket, default %(default)s")




def run() -> NoReturn:
    """The console script: main(), then exit without tearing down the interpreter's objects one by one.

    A build of 1,000 services makes some 150 MiB of small objects that live until exit: the cyclic
    collector walking them again and again, and freeing them one by one at exit, took 0.6 s of a
    1.9 s rebuild. Cycles are still collected, rarely (a long `up --local --keep` stays bounded).
    Output is flushed first; stack-cfn registers no exit handlers of its own, and every file, pool
    and local server is closed before main() returns."""
    gc.set_threshold(200_000, 50, 1000)  # a build makes millions of objects that live until exit: collect cycles rarely, not never
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
