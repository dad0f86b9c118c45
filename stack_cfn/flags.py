"""Typed flag values: every flag and argument is parsed into a checked value at the edge, before anything is read or sent.

The policy is the stack file's: one line naming the flag, the problem and the fix, exit 2.
- An empty or blank value is refused for every flag (an explicit `--stack-name ''` never means "the default").
- A flag given twice is refused, unless it is documented as repeatable (`--image`, `--region-cidr`), and then
  a repeated key (two `--image api=...`, two CIDRs for one region) is refused.
- Numbers are ASCII digits in a range; regions are the ones stack-cfn knows, one partition per list; account ids
  are 12 digits; CIDRs are IPv4 networks; NAME=VALUE pairs have both halves.
"""

from __future__ import annotations

import argparse
import ipaddress
import re
from collections.abc import Callable, Sequence
from typing import Any

from stack_cfn.model import rules as R
from stack_cfn.model.regions import KNOWN_REGIONS

SHOWN = 60  # characters of a value an error message echoes


class FlagError(argparse.ArgumentTypeError):
    """A value a flag cannot take: argparse reports it as `argument --flag: <message>`."""


def shown(value: str) -> str:
    """A value as a message echoes it: quoted, cut, its length said when cut."""
    flat = value.replace("\n", "\\n").replace("\r", "\\r")
    return repr(flat) if len(flat) <= SHOWN else f"{flat[:SHOWN - 20]!r}...({len(value)} characters)"


def nonblank(text: str) -> str:
    if not text.strip():
        raise FlagError("is empty; give a value, or leave the flag out for its default")
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise FlagError(f"{shown(text)} holds a control character; give it on one line")
    return text


def _rule(rule: R.Pattern) -> Callable[[str], str]:
    def parse(text: str) -> str:
        problem = rule.problem(nonblank(text))
        if problem:
            raise FlagError(f"{problem}; {rule.fix}")  # the rule quotes a value cut to a few dozen characters
        return text

    parse.__name__ = rule.what
    return parse


# CloudFormation: "A stack name can contain only alphanumeric characters (case-sensitive) and hyphens. It must start
# with an alphabetic character and can't be longer than 128 characters." (CreateStack / CreateStackSet, StackName
# and StackSetName, AWS CloudFormation API Reference). The same rule as the ExportPrefix parameter (rules.STACK_NAME).
stack_name = _rule(R.STACK_NAME)
bucket_name = _rule(R.BUCKET_NAME)
ami_id = _rule(R.AMI_ID)
image_tag = _rule(R.IMAGE_TAG)
role_arn = _rule(R.IAM_ROLE_ARN)
# IAM CreateRole RoleName / CreateStackSet ExecutionRoleName: [\w+=,.@-]+, 1 to 64 characters (AWS CloudFormation API Reference).
ROLE_NAME = R.Pattern(r"[A-Za-z0-9_+=,.@-]+", "an IAM role name", "use letters, digits and _+=,.@- (at most 64), like AWSCloudFormationStackSetExecutionRole", 64)
role_name = _rule(ROLE_NAME)
# An S3 key prefix of our own keys: visible ASCII, no leading or trailing slash, no empty or dot segments.
PREFIX = R.Pattern(r"(?!.*//)(?!/)(?!.*/$)(?!(.*/)?\.\.?(/|$))[A-Za-z0-9!_.*'()/-]+", "an S3 key prefix",
                   "use letters, digits and !_.*'()- separated by single slashes, like stack-cfn/prod", 512)
key_prefix = _rule(PREFIX)


def path(text: str) -> str:
    """A file or directory: not blank; what is wrong with the path itself is said when it is opened."""
    return nonblank(text)


def endpoint_url(text: str) -> str:
    return nonblank(text)


def profile(text: str) -> str:
    if text != text.strip():
        raise FlagError(f"{shown(text)} has spaces around it; give the profile's name as ~/.aws/config spells it")
    return nonblank(text)


# ---------------------------------------------------------------- numbers


def _number(low: int, high: int, what: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        if not re.fullmatch(r"[0-9]{1,9}", text.strip()):
            raise FlagError(f"{shown(text)} is not {what}")
        value = int(text)
        if not low <= value <= high:
            raise FlagError(f"{value} is not {what}")
        return value

    parse.__name__ = what
    return parse


port = _number(1, 65535, "a port from 1 to 65535")
minutes = _number(1, 24 * 60, "minutes from 1 to 1440")
whole_number = _number(0, 10**6, "a whole number, 0 or more")
positive_number = _number(1, 10**6, "a whole number, 1 or more")


# ---------------------------------------------------------------- regions, partitions, accounts


def partition(region: str) -> str:
    """The AWS partition of a region: aws-cn (cn-*), aws-us-gov (us-gov-*), else aws. Source: AWS General Reference, "AWS partitions"."""
    return "aws-cn" if region.startswith("cn-") else "aws-us-gov" if region.startswith("us-gov-") else "aws"


def region(text: str) -> str:
    """A region stack-cfn knows (model/regions.py: the regions whose ELB log delivery it can configure)."""
    if nonblank(text) not in KNOWN_REGIONS:
        raise FlagError(f"{shown(text)} is not an AWS region stack-cfn knows; use one such as us-east-1 ({len(KNOWN_REGIONS)} are known)")
    return text


def _items(text: str, what: str, example: str) -> list[str]:
    items = [item.strip() for item in nonblank(text).split(",")]
    if any(not item for item in items):
        raise FlagError(f"{shown(text)} has an empty item; write {what} separated by single commas, like {example}")
    repeated = next((item for i, item in enumerate(items) if item in items[:i]), None)
    if repeated:
        raise FlagError(f"{shown(repeated)} is listed twice; list each once")
    return items


def regions(text: str) -> tuple[str, ...]:
    """Comma-separated regions, each known, each once, all in one partition (a StackSet does not cross partitions)."""
    items = tuple(region(item) for item in _items(text, "regions", "us-east-1,eu-west-1"))
    parts = {partition(r): r for r in items}
    if len(parts) > 1:
        (a, ra), (b, rb) = sorted(parts.items())[:2]
        raise FlagError(f"mixes partitions: {ra} is in {a}, {rb} in {b}; a stack set deploys within one partition, so run one per partition")
    return items


# "An AWS account ID is a 12-digit number, such as 123456789012" (AWS Account Management Reference Guide, "View AWS account identifiers").
ACCOUNT_ID = re.compile(r"[0-9]{12}")


def accounts(text: str) -> tuple[str, ...]:
    items = _items(text, "account ids", "111111111111,222222222222")
    bad = next((item for item in items if not ACCOUNT_ID.fullmatch(item)), None)
    if bad is not None:
        raise FlagError(f"{shown(bad)} is not an AWS account id; an account id is 12 digits, like 123456789012")
    return tuple(items)


def region_cidr(text: str) -> tuple[str, str]:
    """REGION=CIDR: a known region and an IPv4 network (the VPC rules, private /16 to /24, are checked with the plan)."""
    name, value = name_value(text, "REGION=CIDR", "eu-west-1=10.40.0.0/16")
    try:
        region(name)
    except FlagError as exc:
        raise FlagError(f"{exc}; write it like eu-west-1=10.40.0.0/16") from None
    try:
        ipaddress.IPv4Network(value, strict=True)
    except ValueError:
        raise FlagError(f"{shown(value)} is not an IPv4 CIDR block; write it like {name}=10.40.0.0/16") from None
    return name, value


def name_value(text: str, shape: str = "NAME=VALUE", example: str = "api=registry.example.com/team/api") -> tuple[str, str]:
    name, sep, value = nonblank(text).partition("=")
    if not sep:
        raise FlagError(f"{shown(text)} is not {shape}; write it like {example}")
    if not name.strip():
        raise FlagError(f"{shown(text)} has nothing before '='; write it like {example}")
    if not value.strip():
        raise FlagError(f"{shown(text)} has nothing after '='; write it like {example}")
    return name.strip(), value.strip()


def image(text: str) -> str:
    """--image [SERVICE=]IMAGE, both halves given when there is an "=" (`--image nginx=` is not "no image")."""
    if "=" not in nonblank(text):
        return text.strip()
    return "=".join(name_value(text, "[SERVICE=]IMAGE", "api=registry.example.com/team/api"))


def key_of(value: Any) -> str:
    """The key a repeatable flag's value is given once per: the name of NAME=VALUE ("" when it names none)."""
    if isinstance(value, tuple):
        return str(value[0])
    return str(value).partition("=")[0] if "=" in str(value) else ""


# ---------------------------------------------------------------- actions: given once, or repeatable by key


GIVEN = "given_flags"  # the namespace's set of flags given on the command line (not defaulted)


def _mark_given(namespace: argparse.Namespace, action: argparse.Action, option: str | None) -> None:
    given = getattr(namespace, GIVEN, None)
    if given is None:
        given = set()
        setattr(namespace, GIVEN, given)
    if action.dest in given:
        names = "/".join(action.option_strings) or action.dest
        raise argparse.ArgumentError(action, f"is given twice; {names} takes one value, give it once")
    given.add(action.dest)


class Once(argparse.Action):
    """A flag with one value: given twice is an error (never last-wins); blank is an error."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any, option: str | None = None) -> None:
        _mark_given(namespace, self, option)
        if isinstance(values, str):
            try:
                nonblank(values)
            except FlagError as exc:
                raise argparse.ArgumentError(self, str(exc)) from None
        setattr(namespace, self.dest, values)


class SwitchOnce(argparse.Action):
    """A switch (--yes): given twice is an error too, so every flag reads the same way."""

    def __init__(self, option_strings: Sequence[str], dest: str, default: Any = False, required: bool = False, help: str | None = None) -> None:
        super().__init__(option_strings, dest, nargs=0, const=True, default=default, required=required, help=help)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any, option: str | None = None) -> None:
        _mark_given(namespace, self, option)
        setattr(namespace, self.dest, True)


class Repeatable(argparse.Action):
    """A documented repeatable flag of (KEY, VALUE) pairs: a key given twice is an error (never last-wins)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any, option: str | None = None) -> None:
        items = list(getattr(namespace, self.dest, None) or [])
        given = getattr(namespace, GIVEN, None) or set()
        setattr(namespace, GIVEN, given | {self.dest})
        key = self.key(values)
        if any(self.key(i) == key for i in items):
            what = f"{shown(key)} is given twice" if key else "more than one value without a name is given"
            raise argparse.ArgumentError(self, f"{what}; give each once")
        setattr(namespace, self.dest, [*items, values])

    @staticmethod
    def key(value: Any) -> str:
        return key_of(value)


class RepeatableNames(Repeatable):
    """A documented repeatable flag of plain names (--allow-replace main --allow-replace ci): a name given twice is an error."""

    @staticmethod
    def key(value: Any) -> str:
        return str(value)


def given(args: argparse.Namespace, dest: str) -> bool:
    """Whether a flag was given on the command line, rather than defaulted."""
    return dest in (getattr(args, GIVEN, None) or set())
