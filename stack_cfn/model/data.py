"""The data modules of the stack file: databases (the seed's rds and rds-cluster) and IAM users (iam-user).

A database is one RDS instance (`postgres`, `mysql`) or an Aurora cluster (`aurora-postgresql`,
`aurora-mysql`). Its master password is never chosen by us nor written anywhere: RDS keeps it in
Secrets Manager (ManageMasterUserPassword). Services name the databases they use and get
`<PREFIX>_HOST/_PORT/_NAME` as environment and `_USER/_PASSWORD` as ECS secrets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from stack_cfn.errors import ConfigError
from stack_cfn.model import aws_facts as F
from stack_cfn.model import rules as R
from stack_cfn.model.checks import Check, check_fields, run_checks, setting
from stack_cfn.model.names import iam_user_name
from stack_cfn.model.policies import load_policies

Engine = Literal["postgres", "mysql", "aurora-postgresql", "aurora-mysql"]


@dataclass(frozen=True)
class EngineFacts:
    port: int
    versions: tuple[str, ...]  # major versions RDS offers (RDS user guide, "Supported engine versions", 2026-11)
    default_version: str
    log_exports: tuple[str, ...]
    storage: tuple[int, int]  # allocated GiB (gp3), instances only
    identifier: str  # what DatabaseName may be


ENGINES = {
    "postgres": EngineFacts(5432, ("13", "14", "15", "16", "17"), "16", ("postgresql", "upgrade"), (20, 65536), r"[A-Za-z][A-Za-z0-9_]{0,62}"),
    "mysql": EngineFacts(3306, ("8.0", "8.4"), "8.0", ("error", "general", "slowquery"), (20, 65536), r"[A-Za-z][A-Za-z0-9_]{0,63}"),
    "aurora-postgresql": EngineFacts(5432, ("13", "14", "15", "16", "17"), "16", ("postgresql",), (0, 0), r"[A-Za-z][A-Za-z0-9_]{0,62}"),
    "aurora-mysql": EngineFacts(3306, ("8.0",), "8.0", ("error", "general", "slowquery", "audit"), (0, 0), r"[A-Za-z][A-Za-z0-9_]{0,63}"),
}
DB_NAME = R.Pattern(r"(?!.*--)[a-z]([a-z0-9-]{0,61}[a-z0-9])?", "a database name", "use lowercase letters, digits and single hyphens, starting with a letter")
WINDOW = R.Pattern(r"([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d", "a time window", "write it like 00:00-01:00 (UTC)")
DAY = r"([Mm]on|[Tt]ue|[Ww]ed|[Tt]hu|[Ff]ri|[Ss]at|[Ss]un)"
MAINTENANCE = R.Pattern(rf"{DAY}:([01]\d|2[0-3]):[0-5]\d-{DAY}:([01]\d|2[0-3]):[0-5]\d",
                        "a maintenance window", "write it like Mon:01:00-Mon:02:00 (UTC)")
INSTANCE_CLASS = R.Pattern(r"db\.[a-z0-9]+\.[a-z0-9]+", "an RDS instance class", "write it like db.t4g.medium or db.r7g.large")
VERSION = re.compile(r"\d+(\.\d+)*([.a-z_0-9]*)?")


@dataclass(frozen=True)
class Serverless:
    """Aurora Serverless v2 capacity, in Aurora capacity units."""

    min_acu: float = setting(0.5, doc="fewest ACUs (0 to 256, in steps of 0.5)")
    max_acu: float = setting(4.0, doc="most ACUs (1 to 256, in steps of 0.5)")

    def __post_init__(self) -> None:
        for name, low in (("min_acu", F.SERVERLESS_MIN_ACU), ("max_acu", 1.0)):
            value = getattr(self, name)
            if not low <= value <= F.SERVERLESS_MAX_ACU or value * 2 != int(value * 2):
                raise ConfigError(name, f"{value} is not {low:g} to {F.SERVERLESS_MAX_ACU:g} in steps of 0.5", "use a value such as 0.5, 1 or 8")
        if self.min_acu > self.max_acu:
            raise ConfigError("min_acu", f"{self.min_acu} is above max_acu {self.max_acu}", "lower it")


@dataclass(frozen=True)
class DatabaseConfig:
    """A database: one RDS instance (postgres, mysql) or an Aurora cluster (aurora-postgresql, aurora-mysql)."""

    name: str = setting(rule=DB_NAME, doc="the database's name in the stack; also its DNS label and env prefix by default")
    engine: Engine = setting("postgres", rule=R.OneOf(tuple(ENGINES), "a database engine"), doc="postgres, mysql, aurora-postgresql or aurora-mysql")
    engine_version: str = setting("", doc="a major version RDS offers (default: the engine's current one)")
    port: int | None = setting(None, rule=R.PORT, doc="the engine's port (default 5432 / 3306)")
    database: str = setting("", doc="the database created (default: the name, with _ for -)")
    username: str = setting("", doc="the master user (default: the name, with _ for -)")
    instance_class: str = setting("db.t4g.medium", rule=INSTANCE_CLASS, doc="instance class")
    instance_count: int = setting(1, rule=R.Range(1, 15), doc="Aurora: instances in the cluster")
    serverless: Serverless | None = setting(None, doc="Aurora Serverless v2 capacity (instances become db.serverless)")
    allocated_storage: int | None = setting(None, doc="instances: GiB of gp3 storage (default 20)")
    storage_type: str = setting("gp3", rule=R.OneOf(("gp3", "gp2", "io1", "io2"), "a storage type"), doc="instances: storage type")
    multi_az: bool = setting(False, doc="instances: a standby in another AZ")
    backup_retention_period: int = setting(5, rule=R.Range(1, 35), doc="days of automated backups")
    backup_window: str = setting("00:00-01:00", rule=WINDOW, doc="daily backup window (UTC)")
    maintenance_window: str = setting("Mon:02:00-Mon:03:00", rule=MAINTENANCE, doc="weekly maintenance window (UTC), apart from the backup window")
    monitoring_interval: int = setting(0, rule=R.OneOf((0, 1, 5, 10, 15, 30, 60), "an enhanced monitoring interval"),
                                       doc="seconds between enhanced monitoring samples; 0 is off (a monitoring role is made when on)")
    allow_major_version_upgrade: bool = setting(False, doc="allow major version upgrades")
    publicly_accessible: bool = setting(False, doc="refused when true: databases live in the internal subnets")
    ingress_allow_security_groups: tuple[str, ...] = setting((), each=R.SG_ID, doc="further groups admitted on the port")
    ingress_allow_cidr_blocks: tuple[str, ...] = setting((), each=R.CIDR_SHAPE, doc="further ranges admitted on the port")
    dns_name: str = setting("", rule=DB_NAME.with_optional(), doc="label under the stack's domain (default: the name)")
    kms_key_arn: str = setting("", rule=R.KMS_KEY_ARN.with_optional(), doc="KMS key for the storage (default: the RDS key)")
    deletion_protection: bool | None = setting(None, doc="default: on when environment is prod or production")
    iam_authentication: bool = setting(False, doc="IAM database authentication")

    def __post_init__(self) -> None:
        where = f"databases.{self.name if R.DNS_LABEL.problem(self.name) is None else R.quote(self.name)}."
        check_fields(self, where)
        run_checks(self, DATABASE_CHECKS, where)

    @property
    def facts(self) -> EngineFacts:
        return ENGINES[self.engine]

    @property
    def is_cluster(self) -> bool:
        return self.engine.startswith("aurora-")

    @property
    def version(self) -> str:
        return self.engine_version or self.facts.default_version

    @property
    def engine_port(self) -> int:
        return self.port or self.facts.port

    @property
    def db_name(self) -> str:
        return self.database or self.name.replace("-", "_")

    @property
    def master_username(self) -> str:
        return self.username or self.name.replace("-", "_")

    @property
    def storage_gib(self) -> int:
        return 20 if self.allocated_storage is None else self.allocated_storage  # 0 is refused, never read as the default

    @property
    def record_name(self) -> str:
        return self.dns_name or self.name

    @property
    def logical_id(self) -> str:
        return "".join(part.capitalize() for part in self.name.split("-")) + "Database"


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEK = 7 * 1440


def _backup_span(d: DatabaseConfig) -> tuple[int, int] | None:
    """The daily backup window as (start minute, length); it may cross midnight (23:30-00:30)."""
    if WINDOW.problem(d.backup_window):
        return None
    start, end = (_minutes(x) for x in d.backup_window.split("-"))
    return start, (end - start) % 1440


def _maintenance_span(d: DatabaseConfig) -> tuple[int, int] | None:
    """The weekly maintenance window as (start minute of the week, length); it may cross midnight or Sunday."""
    if MAINTENANCE.problem(d.maintenance_window):
        return None
    start, end = (DAYS.index(x[:3].lower()) * 1440 + _minutes(x[4:]) for x in d.maintenance_window.split("-"))
    return start, (end - start) % WEEK


def window_too_short(span: tuple[int, int] | None) -> bool:
    return span is not None and span[1] < F.MIN_WINDOW_MINUTES


def windows_touch(d: DatabaseConfig) -> bool:
    """RDS refuses a maintenance window that overlaps (or touches) the daily backup window, across midnight too."""
    backup, maintenance = _backup_span(d), _maintenance_span(d)
    if backup is None or maintenance is None:
        return False
    weekly = {(day * 1440 + backup[0] + m) % WEEK for day in range(7) for m in range(backup[1] + 1)}
    return any((maintenance[0] + m) % WEEK in weekly for m in range(maintenance[1] + 1))


def username_fix(d: DatabaseConfig) -> str:
    limit = F.MASTER_USERNAME_LENGTH[d.engine]
    if d.master_username.lower() in F.RESERVED_USERNAMES[d.engine]:
        rule = "choose another master user name, such as app_owner"
    else:
        rule = f"start with a letter; use letters, digits and _, at most {limit}"
    return rule if d.username else f"set username: ({rule}; the default is the database's name, with _ for -)"


def username_problem(d: DatabaseConfig) -> str | None:
    """Why RDS would refuse the master username (given, or derived from the name), or None."""
    name, limit = d.master_username, F.MASTER_USERNAME_LENGTH[d.engine]
    if not re.fullmatch(F.MASTER_USERNAME, name):
        return f"{R.quote(name)} is not a valid master user name"
    if len(name) > limit:
        return f"{name!r} is {len(name)} characters; {d.engine} takes master user names of at most {limit} (RDS MasterUsername)"
    if name.lower() in F.RESERVED_USERNAMES[d.engine]:
        return f"{name!r} is a name {d.engine} reserves (RDS: 'cannot be used as it is a reserved word used by the engine')"
    return None


def _major(version: str) -> str:
    parts = version.split(".")
    return ".".join(parts[:2]) if parts[0] in ("5", "8") else parts[0]


DATABASE_CHECKS: tuple[Check[DatabaseConfig], ...] = (
    Check("version offered", "engine_version", lambda d: d.engine_version and (not VERSION.fullmatch(d.engine_version) or _major(d.engine_version)
                                                                              not in d.facts.versions),
          lambda d: f"{R.quote(d.engine_version)} is not a {d.engine} version RDS offers",
          lambda d: f"use one of {', '.join(d.facts.versions)} (or leave it out for {d.facts.default_version})"),
    Check("database name", "database", lambda d: d.database and not re.fullmatch(d.facts.identifier, d.database),
          lambda d: f"{R.quote(d.database)} is not a valid {d.engine} database name", "start with a letter; use letters, digits and _"),
    Check("user name RDS accepts", "username", username_problem, lambda d: username_problem(d) or "", username_fix),
    Check("database name not reserved", "database", lambda d: d.db_name.lower() in F.SQL_RESERVED[d.engine],
          lambda d: f"{d.db_name!r} is a word {d.engine} reserves (RDS DBName)",
          lambda d: "choose another name" if d.database else "set database: (the default is the database's name, with _ for -)"),
    Check("instances count on clusters only", "instance_count", lambda d: not d.is_cluster and d.instance_count != 1,
          lambda d: f"applies to Aurora clusters, not {d.engine}", "remove it, or use engine aurora-postgresql or aurora-mysql"),
    Check("serverless is Aurora", "serverless", lambda d: d.serverless and not d.is_cluster,
          lambda d: f"Aurora Serverless v2 needs an Aurora engine, not {d.engine}", "use engine aurora-postgresql or aurora-mysql, or remove serverless"),
    Check("storage is for instances", "allocated_storage", lambda d: d.is_cluster and d.allocated_storage is not None,
          "Aurora storage grows by itself", "remove allocated_storage"),
    Check("storage range", "allocated_storage", lambda d: not d.is_cluster and not d.facts.storage[0] <= d.storage_gib <= d.facts.storage[1],
          lambda d: f"{d.storage_gib} GiB is outside {d.facts.storage[0]}-{d.facts.storage[1]} for {d.engine}",
          lambda d: f"use {d.facts.storage[0]} to {d.facts.storage[1]} GiB"),
    Check("major upgrades are an instance setting", "allow_major_version_upgrade", lambda d: d.is_cluster and d.allow_major_version_upgrade,
          "applies to RDS instances; an Aurora cluster upgrades when engine_version changes", "remove it"),
    Check("backup window long enough", "backup_window", lambda d: window_too_short(_backup_span(d)),
          lambda d: f"{d.backup_window} is shorter than the {F.MIN_WINDOW_MINUTES} minutes RDS requires", "make it at least 30 minutes"),
    Check("maintenance window long enough", "maintenance_window", lambda d: window_too_short(_maintenance_span(d)),
          lambda d: f"{d.maintenance_window} is shorter than the {F.MIN_WINDOW_MINUTES} minutes RDS requires", "make it at least 30 minutes"),
    Check("provisioned IOPS", "storage_type", lambda d: d.storage_type in F.IOPS_STORAGE_TYPES,
          lambda d: f"{d.storage_type} needs provisioned IOPS (RDS Iops), which stack-cfn does not set", "use gp3 (its baseline IOPS grow with size)"),
    Check("windows apart", "maintenance_window", windows_touch,
          lambda d: f"{d.maintenance_window} overlaps or touches the backup window {d.backup_window}", "move one of them (RDS refuses overlapping windows)"),
    Check("not public", "publicly_accessible", lambda d: d.publicly_accessible, "databases live in the internal subnets, out of the internet's reach",
          "remove it; reach the database through Session Manager port forwarding (see README)"),
)


# IAM API reference, CreateUser: UserName is 1-64 characters of [\w+=,.@-], unique in the account, case-insensitively.
IAM_USER_NAME_MAX = F.IAM_USER_NAME.max_length
IAM_USER_NAME = R.Pattern(r"[A-Za-z0-9+=,.@_-]+", "an IAM user name", "use letters, digits and +=,.@_-, at most 64", IAM_USER_NAME_MAX)


@dataclass(frozen=True)
class IamUserConfig:
    """An IAM user for software outside AWS (the seed's iam-user): its policies and an access key kept in Secrets Manager."""

    name: str = setting(rule=IAM_USER_NAME,
                        doc="user name in the stack; the IAM user is <name>-<environment>-<name>, shortened to 64 characters")
    policies: tuple[Any, ...] = setting(load=load_policies, doc="managed policy ARNs and statements (Effect, Action, Resource)")

    def __post_init__(self) -> None:
        check_fields(self, f"iam_users.{self.name}.")
        if not self.policies:
            raise ConfigError(f"iam_users.{self.name}.policies", "is empty", "give the user at least one statement or managed policy ARN")

    @property
    def logical_id(self) -> str:
        return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", self.name) if part) + "User"


@dataclass(frozen=True)
class IamUserShape:
    """What a user template is built for: the user, and the stack it is named after (`<name>-<environment>`, the
    default root stack name, known at build time so the name is checked before anything is sent)."""

    user: IamUserConfig
    stack: str

    @property
    def name(self) -> str:
        return self.user.name

    @property
    def iam_name(self) -> str:
        return iam_user_name(self.stack, self.user.name)


@dataclass(frozen=True)
class DatabaseShape:
    """What a database template is built for: the database, and whether its stack is production (deletion protection)."""

    db: DatabaseConfig
    production: bool

    @property
    def protected(self) -> bool:
        return self.db.deletion_protection if self.db.deletion_protection is not None else self.production
