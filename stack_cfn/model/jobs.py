"""Scheduled jobs (`jobs:`): a container that EventBridge Scheduler starts on a schedule, on EC2 or Fargate.

A job's container is a service's: the same image, version, env, secrets, policies and databases
(its `task` is a worker ServiceConfig, so every container rule is checked once, in config.py, and the
task definition is built by the services' builder, blueprints/task.py). What is a job's own: its
schedule (rate, cron or one time, in a time zone), how EventBridge Scheduler retries starting it,
a flexible window, and the launch type.

The AWS rules behind the settings, each checked here before anything is sent:
- EventBridge Scheduler User Guide, "Schedule types in EventBridge Scheduler": `rate(value unit)`, a
  positive value, unit minute(s) | hour(s) | day(s); `cron(minutes hours day-of-month month day-of-week
  year)`, six fields; `at(yyyy-mm-ddThh:mm:ss)` one time; the expression is evaluated in
  ScheduleExpressionTimezone (an IANA name, default UTC). Scheduler API reference, CreateSchedule:
  ScheduleExpression is 1 to 256 characters, ScheduleExpressionTimezone 1 to 50.
- EventBridge User Guide, "Cron expressions reference": the fields' values and wildcards (below), and "You
  can't use * in both the Day-of-month and Day-of-week fields. If you use it in one, you must use ? in the other."
- Scheduler API reference, RetryPolicy: MaximumRetryAttempts 0 to 185, MaximumEventAgeInSeconds 60 to 86400;
  FlexibleTimeWindow: MaximumWindowInMinutes 1 to 1440 (with Mode FLEXIBLE).
- Step Functions developer guide, "Quotas" (Maximum execution time: a Standard workflow runs at most 1 year) and
  "State machine structure" (TimeoutSeconds: a positive whole number of seconds): a job's `timeout` (TIMEOUT_MINUTES).
- ECS developer guide, "Amazon ECS task definition parameters for Fargate" (Task size): the CPU and memory
  pairs Fargate accepts (model/fargate.py size_check, the services' one check).
"""

from __future__ import annotations

import re
import types
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from stack_cfn.errors import ConfigError
from stack_cfn.model import rules as R
from stack_cfn.model.checks import Check, check_fields, run_checks, setting
from stack_cfn.model.fargate import LAUNCH_TYPES, LaunchType, size_check
from stack_cfn.model.policies import load_policies

if TYPE_CHECKING:
    from stack_cfn.model.config import ServiceConfig

LAUNCH_TYPE = R.OneOf(LAUNCH_TYPES, "a launch type", "use ec2 (the cluster's instances) or fargate")
RETRIES = R.Range(0, 185, "EventBridge Scheduler retries 0 to 185 times")
RETRY_SECONDS = R.Range(60, 86400, "EventBridge Scheduler keeps retrying for 60 to 86400 seconds")
FLEXIBLE_MINUTES = R.Range(1, 1440, "use 1 to 1440 minutes, or leave it out for an exact time")
# A Standard Step Functions execution runs at most 1 year (Step Functions developer guide, "Quotas", Maximum execution time):
# 365 days of minutes. The lower bound is ours: the timeout counts from the start of the execution, so it includes ECS placing
# the task, pulling the image and (Fargate) provisioning, which take up to a few minutes; below 5 a healthy run can time out.
TIMEOUT_MINUTES = R.Range(5, 365 * 24 * 60, "use 5 to 525600 minutes (a Step Functions execution runs at most 1 year), or leave it out for no limit")
TIMEZONE = R.Pattern(r"[A-Za-z][A-Za-z0-9_+/-]{0,49}", "a time zone name", "use an IANA name such as UTC or Europe/Berlin", 50)


# (name, low, high, wildcards, names) per cron field, in order (EventBridge "Cron expressions reference").
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
CRON_FIELDS: tuple[tuple[str, int, int, str, tuple[str, ...]], ...] = (
    ("minutes", 0, 59, ",-*/", ()), ("hours", 0, 23, ",-*/", ()), ("day-of-month", 1, 31, ",-*?/LW", ()),
    ("month", 1, 12, ",-*/", _MONTHS), ("day-of-week", 1, 7, ",-*?L#", _DAYS), ("year", 1970, 2199, ",-*/", ()),
)
RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
AT = re.compile(r"at\((\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\)")
SCHEDULE_FIX = 'write rate(15 minutes), cron(0 3 * * ? *) (six fields: minutes hours day-of-month month day-of-week year) or at(2030-01-31T09:00:00)'


def _value_problem(text: str, low: int, high: int, names: tuple[str, ...]) -> str | None:
    if text.upper() in names:
        return None
    if not text.isdigit():
        return f"{R.quote(text)} is not a number"
    return None if low <= int(text) <= high else f"{text} is outside {low}-{high}"


def _cron_item(item: str, field: tuple[str, int, int, str, tuple[str, ...]]) -> str | None:
    """One comma-separated item of a cron field: *, ?, a value, a range, a/step, or L, nW, nL, n#k where the field allows."""
    name, low, high, wild, names = field
    if item in ("*", "?"):
        return None if item in wild else f"{item} is not allowed in {name}"
    if item == "L" and "L" in wild:
        return None
    if "W" in wild and re.fullmatch(r"\d+W", item) or "L" in wild and name == "day-of-week" and item.endswith("L"):
        return _value_problem(item[:-1], low, high, names)  # 15W: the weekday nearest the 15th; 6L: the month's last Friday
    if "#" in wild and "#" in item:
        day, _, nth = item.partition("#")
        return _value_problem(day, low, high, names) or (None if nth in ("1", "2", "3", "4", "5") else f"#{nth} is not #1 to #5")
    base, slash, step = item.partition("/")
    if slash:
        if "/" not in wild:
            return f"/ is not allowed in {name}"
        if not step.isdigit() or int(step) == 0:
            return f"{R.quote(item)} has no valid step"
        if base == "*":
            return None
    first, dash, last = base.partition("-")
    if dash and "-" not in wild:
        return f"- is not allowed in {name}"
    return _value_problem(first, low, high, names) or (_value_problem(last, low, high, names) if dash else None)


def cron_problem(body: str) -> str | None:
    fields = body.split()
    if len(fields) != 6:
        return f"has {len(fields)} cron fields; EventBridge Scheduler takes six (minutes hours day-of-month month day-of-week year)"
    for text, field in zip(fields, CRON_FIELDS, strict=True):
        for item in text.split(","):
            problem = _cron_item(item, field)
            if problem:
                return f"cron field {field[0]}: {problem}"
    if (fields[2] == "?") == (fields[4] == "?"):
        return "needs ? in exactly one of day-of-month and day-of-week (EventBridge cannot use both)"
    return None


def schedule_problem(value: str) -> str | None:
    """What EventBridge Scheduler would refuse in a schedule expression, or None."""
    if value.startswith("rate("):
        rate = RATE.fullmatch(value)
        if rate is None:
            return f"{R.quote(value)} is not rate(<value> minutes|hours|days)"
        return None if int(rate.group(1)) >= 1 else "a rate needs a value of 1 or more"
    if value.startswith("cron("):
        return cron_problem(value[5:-1])
    return None if AT.fullmatch(value) else f"{R.quote(value)} is not at(yyyy-mm-ddThh:mm:ss)"


# The shape (and the CreateSchedule length limit); schedule_problem checks the grammar of each kind.
SCHEDULE = R.Pattern(r"(rate|cron|at)\(.*\)", "a schedule expression (rate, cron or at)", SCHEDULE_FIX, 256)


@dataclass(frozen=True)
class JobConfig:
    """One scheduled job: a container EventBridge Scheduler starts on its schedule (ECS RunTask), then it exits."""

    name: str = setting(rule=R.DNS_LABEL, doc="task family, container and log stream prefix; `stack-cfn run NAME` starts it now")
    image: str = setting(rule=R.IMAGE, doc="container image without tag, e.g. registry/app")
    schedule: str = setting(rule=SCHEDULE, doc="rate(15 minutes), cron(0 3 * * ? *) (6 fields) or at(2030-01-31T09:00:00)")
    schedule_timezone: str = setting("UTC", rule=TIMEZONE, doc="IANA time zone the cron or at expression is read in")
    enabled: bool = setting(True, doc="false keeps the schedule but stops it starting the job")
    launch_type: LaunchType = setting("ec2", rule=LAUNCH_TYPE, doc="ec2 (the cluster's instances) or fargate")
    retries: int = setting(3, rule=RETRIES, doc="times EventBridge Scheduler retries starting the task (RunTask) before the dead-letter queue")
    retry_seconds: int = setting(3600, rule=RETRY_SECONDS, doc="how long EventBridge Scheduler keeps retrying to start it")
    flexible_window: int | None = setting(None, rule=FLEXIBLE_MINUTES, doc="minutes within which the job may start (spreads load); none: on time")
    timeout: int | None = setting(None, rule=TIMEOUT_MINUTES, doc="minutes a run may take: a Step Functions state machine "
                                  "starts the task and stops it at the limit; none: no limit (the schedule runs the task directly)")
    version: str = setting("latest", rule=R.IMAGE_TAG, doc="image tag")
    cpu: int = setting(256, rule=R.TASK_CPU, doc="CPU units (fargate: 256, 512, 1024, 2048, 4096, 8192 or 16384)")
    memory: int = setting(512, rule=R.TASK_MEMORY, doc="memory (MiB); fargate: a size its CPU allows")
    env: Mapping[str, str] = setting(factory=lambda: types.MappingProxyType({}), doc="environment variables (strings)")
    command: tuple[str, ...] = setting((), doc="container command")
    entry_point: tuple[str, ...] = setting((), doc="container entry point")
    task_role_arn: str = setting("", rule=R.IAM_ROLE_ARN.with_optional(), doc="an existing IAM role for the task (default: a role of its own)")
    policies: tuple[Any, ...] = setting((), load=load_policies, doc="the task role's permissions: managed policy ARNs and statements")
    secrets: Mapping[str, str] = setting(factory=lambda: types.MappingProxyType({}), each=R.SECRET_REF,
                                         doc="NAME: Secrets Manager ARN (optionally :json-key::), SSM parameter ARN or name")
    kms_key_arn: str = setting("", rule=R.KMS_KEY_ARN.with_optional(), doc="KMS key the secrets are encrypted with")
    repository_credentials: str = setting("", rule=R.SECRETS_MANAGER_ARN.with_optional(), doc="Secrets Manager ARN of private registry credentials")
    databases: tuple[str, ...] = setting((), doc="databases of the stack the job uses, as a service does")
    database_env_prefix: Mapping[str, str] = setting(factory=lambda: types.MappingProxyType({}), doc="a database's env prefix (default: its name upper-cased)")
    log_retention_days: int = setting(30, rule=R.LOG_RETENTION, doc="days to keep container logs")
    log_retention_on_delete: bool = setting(True, doc="keep the log group when the job is deleted")

    def __post_init__(self) -> None:
        where = f"jobs.{self.label}."
        check_fields(self, where)
        run_checks(self, JOB_CHECKS, where)
        self.task  # noqa: B018  the container's rules, a service's, under this job's path

    @property
    def label(self) -> str:
        return self.name if re.fullmatch(R.DNS_LABEL_RE, self.name) else R.quote(self.name)

    @property
    def task(self) -> ServiceConfig:
        """The job's container as a worker service: what blueprints/task.py builds a task definition from."""
        from stack_cfn.model.config import ServiceConfig  # config holds the jobs: imported when first needed

        fields = {k: getattr(self, k) for k in ("name", "image", "version", "cpu", "memory", "env", "command", "entry_point", "task_role_arn",
                                                "policies", "secrets", "kms_key_arn", "repository_credentials", "databases",
                                                "database_env_prefix", "log_retention_days", "log_retention_on_delete")}
        try:
            return ServiceConfig(kind="worker", **fields)
        except ConfigError as exc:
            field = exc.field.replace(f"services.{ServiceConfig.label_for(self.name)}.", f"jobs.{self.label}.", 1)
            raise ConfigError(field, exc.problem, exc.fix) from None

    @property
    def logical_id(self) -> str:
        """The nested stack's logical id in the root: nightly-report -> NightlyReportJob."""
        return "".join(part.capitalize() for part in self.name.split("-")) + "Job"

    @property
    def on_fargate(self) -> bool:
        return self.launch_type == "fargate"

    @property
    def timeout_seconds(self) -> int | None:
        """The state machine's TimeoutSeconds, or None: no limit (no state machine)."""
        return None if self.timeout is None else self.timeout * 60

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(w.replace("services.", "jobs.", 1) for w in self.task.warnings)


def _unknown_zone(j: JobConfig) -> bool:
    try:
        zoneinfo.ZoneInfo(j.schedule_timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return j.schedule_timezone != "UTC"
    return False


def _bad_schedule(j: JobConfig) -> str:
    return schedule_problem(j.schedule) or ""


JOB_CHECKS: tuple[Check[JobConfig], ...] = (
    Check("EventBridge Scheduler's expression grammar", "schedule", _bad_schedule, _bad_schedule, SCHEDULE_FIX),
    size_check(lambda j: j.on_fargate),
    Check("a known time zone", "schedule_timezone", _unknown_zone, lambda j: f"{R.quote(j.schedule_timezone)} is not an IANA time zone",
          "use a name such as UTC, Europe/Berlin or America/New_York"),
)


def _repeat(values: list[str]) -> str:
    return next((v for i, v in enumerate(values) if v in values[:i]), "")


def _job_names(c: Any) -> str:
    return _repeat([j.name for j in c.jobs])


def _job_vs_service(c: Any) -> str:
    return next((j.name for j in c.jobs if j.name in {s.name for s in c.services}), "")


def _unknown_database(c: Any) -> tuple[str, str]:
    known = {d.name for d in c.databases}
    return next(((j.name, d) for j in c.jobs for d in j.databases if d not in known), ("", ""))


STACK_JOB_CHECKS: tuple[Check[Any], ...] = (
    Check("job names are unique", lambda c: f"jobs.{_job_names(c)}", _job_names, "is listed twice", "give each job a unique name"),
    Check("a job is not named as a service", lambda c: f"jobs.{_job_vs_service(c)}", _job_vs_service,
          "is also a service's name (one task family, log prefix and release name)", "rename the job"),
    Check("jobs name known databases", lambda c: f"jobs.{_unknown_database(c)[0]}.databases", lambda c: _unknown_database(c)[0],
          lambda c: f"{R.quote(_unknown_database(c)[1])} is not a database of this stack",
          lambda c: f"use one of: {', '.join(d.name for d in c.databases) or '(none; add it under databases:)'}"),
)
