"""Rules a single value must follow, declared once and read three ways.

The model checks a setting's value with its rule, a template parameter takes
its constraint (AllowedPattern, MinValue, AllowedValues ...) from the same
rule, and the JSON Schema of the stack file takes its keywords from it too.
So a bound is written here and nowhere else.

Patterns are matched against the whole value (`re.fullmatch`), so a trailing
newline never slips through as it does with `^...$` and `re.match`.
"""

from __future__ import annotations

import re
import reprlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from stack_cfn.model.aws_facts import TASK_CPU_UNITS
from stack_cfn.model.variants import Balancer, Exposure, words

_QUOTE = reprlib.Repr()
_QUOTE.maxstring = 60
_QUOTE.maxother = 60
_QUOTE.maxlist = _QUOTE.maxtuple = _QUOTE.maxdict = 4
_QUOTE.maxlevel = 2


def quote(value: Any) -> str:
    """A value as an error message may show it: repr, cut to a few dozen characters."""
    return _QUOTE.repr(value)


@dataclass(frozen=True)
class Pattern:
    """A string matching `regex` in full; `optional` admits "" (meaning: not set)."""

    regex: str
    what: str  # "an EC2 instance type": the noun of the error
    fix: str  # "write it like m5.large"
    max_length: int | None = None
    optional: bool = False

    def problem(self, value: Any) -> str | None:
        if not isinstance(value, str):
            return f"expected a string, got {quote(value)}"
        if self.optional and value == "":
            return None
        if self.max_length is not None and len(value) > self.max_length:
            return f"is {len(value)} characters long, over the {self.max_length} allowed"
        if re.fullmatch(self.regex, value) is None:
            return f"{quote(value)} is not {self.what}"
        return None

    def cfn(self) -> dict[str, Any]:
        body = f"^{self.regex}$"
        out: dict[str, Any] = {"AllowedPattern": f"^$|{body}" if self.optional else body}
        if self.max_length is not None:
            out["MaxLength"] = self.max_length
        return out

    def schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "string", "pattern": self.cfn()["AllowedPattern"]}
        if self.max_length is not None:
            out["maxLength"] = self.max_length
        return out

    def with_optional(self) -> Pattern:
        return Pattern(self.regex, self.what, self.fix, self.max_length, optional=True)


@dataclass(frozen=True)
class Range:
    """A whole number from `low` to `high`, inclusive."""

    low: int
    high: int
    fix: str = ""

    def problem(self, value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int):
            return f"expected a whole number, got {quote(value)}"
        if not self.low <= value <= self.high:
            return f"{value} is outside {self.low}-{self.high}"
        return None

    @property
    def fix_text(self) -> str:
        return self.fix or f"use a value from {self.low} to {self.high}"

    def cfn(self) -> dict[str, Any]:
        return {"MinValue": self.low, "MaxValue": self.high}

    def schema(self) -> dict[str, Any]:
        return {"type": "integer", "minimum": self.low, "maximum": self.high}


@dataclass(frozen=True)
class OneOf:
    """One value of a fixed list."""

    values: Sequence[Any]
    what: str = "allowed"
    fix: str = ""

    def problem(self, value: Any) -> str | None:
        if value in self.values and type(value) is type(self.values[0]):
            return None
        return f"{quote(value)} is not {self.what}"

    @property
    def fix_text(self) -> str:
        return self.fix or f"use one of {', '.join(str(v) for v in self.values if v != '') or 'the listed values'}"

    def cfn(self) -> dict[str, Any]:
        return {"AllowedValues": list(self.values)}

    def schema(self) -> dict[str, Any]:
        return {"enum": list(self.values)}


Rule = Pattern | Range | OneOf


def fix_of(rule: Rule) -> str:
    return rule.fix if isinstance(rule, Pattern) else rule.fix_text


# ---------------------------------------------------------------- the rules

# CloudFormation stack names; also the ExportPrefix and StackName parameters.
STACK_NAME = Pattern(r"[A-Za-z][A-Za-z0-9-]*", "a CloudFormation stack name", "start with a letter; use letters, digits and hyphens", 128)
# name and environment end up in resource names, tags and DNS labels.
AWS_NAME = Pattern(r"(?!.*--)[a-z]([a-z0-9-]{0,30}[a-z0-9])?", "usable in AWS names",
                   "use 1-32 lowercase letters, digits and single hyphens, starting with a letter", 32)
ECS_CLUSTER_NAME = Pattern(r"[a-zA-Z][a-zA-Z0-9_-]*", "an ECS cluster name", "start with a letter; use letters, digits, - and _", 255)
DNS_LABEL_RE = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
DNS_LABEL = Pattern(DNS_LABEL_RE, "a DNS label", "use lowercase letters, digits and hyphens, at most 63")
DNS_NAME = Pattern(rf"{DNS_LABEL_RE}(\.{DNS_LABEL_RE})*", "a DNS name", "use lowercase labels separated by dots, like stack.local", 253)
KEY_NAME = Pattern(r"[\x20-\x7e]{1,255}", "an EC2 key pair name", "use printable ASCII, at most 255 characters")
INSTANCE_TYPE = Pattern(r"[a-z][a-z0-9-]*\.[a-z0-9]+", "an EC2 instance type", "write it like m5.large or t3.micro")
AMI_ID = Pattern(r"ami-([0-9a-f]{8}|[0-9a-f]{17})", "an AMI id", "write it like ami-0123456789abcdef0, or leave it out for the default")
SG_ID = Pattern(r"sg-([0-9a-f]{8}|[0-9a-f]{17})", "a security group id", "write it like sg-0123456789abcdef0")
AZ_NAME = Pattern(r"[a-z]{2}(-gov)?-[a-z]+-\d[a-z]", "an availability zone name", "write it like us-west-2a")
CIDR_SHAPE = Pattern(r"\d+\.\d+\.\d+\.\d+/\d+", "a CIDR", "write it like 10.30.0.0/16")
ZONE_ID = Pattern(r"Z[A-Z0-9]{1,31}", "a hosted zone id", "write it like Z123EXAMPLE")
ACM_ARN = Pattern(r"arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]{36}", "an ACM certificate ARN",
                  "use arn:aws:acm:<region>:<account>:certificate/<id>")
IAM_ROLE_ARN = Pattern(r"arn:aws[a-z-]*:iam::\d{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}", "an IAM role ARN",
                       "use arn:aws:iam::<account>:role/<name>")
REGION_RE = r"[a-z]{2}(-gov)?-[a-z]+-\d"
SECRETS_MANAGER_ARN = Pattern(rf"arn:aws[a-z-]*:secretsmanager:{REGION_RE}:\d{{12}}:secret:[A-Za-z0-9/_+=.@-]+", "a Secrets Manager secret ARN",
                              "use arn:aws:secretsmanager:<region>:<account>:secret:<name>")
# A container secret: a Secrets Manager ARN (optionally :json-key:version-stage:version-id), an SSM parameter ARN, or a parameter name.
SECRET_REF = Pattern(
    rf"arn:aws[a-z-]*:secretsmanager:{REGION_RE}:\d{{12}}:secret:[A-Za-z0-9/_+=.@-]+(:[A-Za-z0-9_.-]*:[A-Za-z0-9_-]*:[A-Za-z0-9_-]*)?"
    rf"|arn:aws[a-z-]*:ssm:{REGION_RE}:\d{{12}}:parameter/[A-Za-z0-9_.\-/]+"
    r"|/?[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]+)*",
    "a Secrets Manager ARN, an SSM parameter ARN or an SSM parameter name",
    "use arn:aws:secretsmanager:<region>:<account>:secret:<name>[:<json-key>::], arn:aws:ssm:<region>:<account>:parameter/<name> or /<name>",
    2048,
)
KMS_KEY_ARN = Pattern(rf"arn:aws[a-z-]*:kms:{REGION_RE}:\d{{12}}:key/[A-Za-z0-9-]+", "a KMS key ARN", "use arn:aws:kms:<region>:<account>:key/<id>")
MANAGED_POLICY_ARN = Pattern(r"arn:aws[a-z-]*:iam::(aws|\d{12}):policy/[A-Za-z0-9+=,.@_/-]+", "an IAM managed policy ARN",
                             "use arn:aws:iam::aws:policy/<name> or arn:aws:iam::<account>:policy/<name>")
ENV_VAR = Pattern(r"[A-Za-z_][A-Za-z0-9_]*", "a valid environment variable name", "use letters, digits and _, not starting with a digit")
IMAGE = Pattern(
    r"([a-z0-9]+([._-][a-z0-9]+)*(:\d+)?(\.[a-z0-9-]+)*/)?"  # registry host
    r"[a-z0-9]+(([._]|__|-+)[a-z0-9]+)*(/[a-z0-9]+(([._]|__|-+)[a-z0-9]+)*)*",
    "an image reference", "write it like nginx or registry.example.com/team/app (the tag goes in version)", 255,
)
IMAGE_TAG = Pattern(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", "an image tag", 'use a tag such as latest or "1.25" (quoted; digests are not supported)')
CLOUD_CONFIG_TYPE = Pattern(r"text/[a-z0-9.+-]+", "a MIME text type", "use text/cloud-config or text/x-shellscript")
# ALB health-check paths are at most 1,024 characters of visible ASCII.
HTTP_PATH = Pattern(r"/[\x21-\x7e]*", "an HTTP path", "write it like /health (visible ASCII, at most 1024 characters)", 1024)
# S3 general purpose bucket names (S3 user guide, "General purpose bucket naming rules"): 3-63 lowercase letters,
# digits, dots and hyphens, a letter or digit first and last, no "..", not an IP address, not the reserved prefixes
# xn--, sthree-, amzn-s3-demo- nor the suffixes -s3alias, --ol-s3, .mrap, --x-s3, --table-s3. The one rule for
# every bucket name stack-cfn takes (log_bucket_name, --bucket; ship/deploy.py uses it too; there is no other copy).
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html ("must not be formatted as an IP address";
# tests/broken/064-bucket-name-ip.yaml).
BUCKET_NAME = Pattern(r"(?!\d+\.\d+\.\d+\.\d+$)(?!xn--|sthree-|amzn-s3-demo-)(?!.*\.\.)(?!.*(-s3alias|--ol-s3|\.mrap|--x-s3|--table-s3)$)"
                      r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", "a valid S3 bucket name",
                      "use 3-63 lowercase letters, digits, dots and hyphens, not shaped like an IP address nor with a prefix or suffix S3 reserves")
CONTAINER_PATH = Pattern(r"/[^\n\r]*", "an absolute path", "write it like /data")

PORT = Range(1, 65535)
HOST_PORT = Range(0, 65535, "use 1 to 65535, or 0 for the container port")
TASK_CPU = Range(*TASK_CPU_UNITS, "ECS accepts 128 (0.125 vCPU) to 196608 (192 vCPU) CPU units per task")
TASK_MEMORY = Range(128, 122880, "ECS accepts 128 to 122880 MiB")
INSTANCE_COUNT = Range(0, 10000, "use a whole number of instances")
MAX_INSTANCE_COUNT = Range(1, 10000, "use a whole number of instances")
TASK_COUNT = Range(0, 10000, "use 0 to 10000 tasks")
MAX_TASK_COUNT = Range(1, 10000, "use 1 to 10000 tasks")
PERCENT = Range(1, 100)
MIN_HEALTHY_PERCENT = Range(0, 100)
MAX_PERCENT = Range(100, 400)
EXPIRY_DAYS = Range(1, 36500)
AZ_COUNT = Range(2, 4, "use 2 to 4")
SERVICE_GROUP_SIZE = Range(1, 500, "use 1 to 500 services per stack (CloudFormation holds at most 500 resources per template)")
# gp3 volumes are 1 to 16,384 GiB; the ECS-optimized Amazon Linux 2023 AMI's root
# snapshot is 30 GiB, so a smaller root volume fails to launch (the seed's 25 cannot be kept).
ECS_ROOT_VOLUME = Range(30, 16384, "gp3 volumes are at most 16384 GiB and the ECS AMI's root snapshot needs 30")
GP3_VOLUME = Range(1, 16384, "gp3 volumes are 1 to 16384 GiB")
BASTION_VOLUME = Range(8, 1024)
HEALTH_INTERVAL = Range(5, 300)
HEALTH_TIMEOUT = Range(2, 60)
HEALTH_RETRIES = Range(1, 10)
HEALTH_START = Range(0, 300)

# The retention periods CloudWatch Logs accepts.
LOG_RETENTION = OneOf((1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653),
                      "a CloudWatch Logs retention")
DOCKER_AUTH_TYPE = OneOf(("", "docker", "dockercfg"), "an ECS engine auth type")
SERVICE_KIND = OneOf(words(Exposure), "a service kind")
LOAD_BALANCER_KIND = OneOf(words(Balancer), "a load balancer kind")
SCALING_MODE = OneOf(("simple", "managed"), "a scaling mode")
PROTOCOL = OneOf(("HTTP", "TCP"), "a supported protocol")
