"""The stack description: typed, validated once at the edge, immutable after.

The YAML file mirrors the seed's terraform.tf: `name`, `environment` and
`key_name` are required, everything else has the seed's default. The same
description is a Python API: build `StackConfig(...)` directly and every
check below runs as it is constructed.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from stack_cfn.errors import ConfigError
from stack_cfn.model import cidr as cidr_plan
from stack_cfn.model.regions import KNOWN_REGIONS, is_known_region

AWS_NAME = re.compile(r"^[a-z](?:[a-z0-9-]{0,30}[a-z0-9])?$")
DNS_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")
AMI_ID = re.compile(r"^ami-(?:[0-9a-f]{8}|[0-9a-f]{17})$")
SG_ID = re.compile(r"^sg-(?:[0-9a-f]{8}|[0-9a-f]{17})$")
KEY_NAME = re.compile(r"^[\x20-\x7e]{1,255}$")
AZ_NAME = re.compile(r"^[a-z]{2}(?:-gov)?-[a-z]+-\d[a-z]$")
ZONE_ID = re.compile(r"^Z[A-Z0-9]{1,31}$")
ACM_ARN = re.compile(r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]{36}$")
ENV_VAR = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
IMAGE = re.compile(
    r"^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*(?::\d+)?(?:\.[a-z0-9-]+)*/)?"  # registry host
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$"
)
IMAGE_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$|^sha256:[0-9a-f]{64}$")
CLOUD_CONFIG_TYPE = re.compile(r"^text/[a-z0-9.+-]+$")
HTTP_PATH = re.compile(r"^/[\x21-\x7e]*$")

EBS_GP3_MIN_GIB = 1
EBS_GP3_MAX_GIB = 16384
# The ECS-optimized Amazon Linux 2023 AMI's root snapshot is 30 GiB; a smaller
# root volume fails to launch, so the seed's 25 cannot be kept here.
ECS_ROOT_SNAPSHOT_GIB = 30

# Fargate-style task sizes are not required on EC2, but ECS bounds them.
TASK_CPU_RANGE = (128, 10240)
TASK_MEMORY_RANGE = (128, 122880)

# The retention periods CloudWatch Logs accepts.
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)

ServiceKind = Literal["service", "web-service", "worker"]
LoadBalancerKind = Literal["application", "classic"]
ScalingMode = Literal["simple", "managed"]
Protocol = Literal["HTTP", "TCP"]


def _check_name(field_name: str, value: str) -> None:
    if not AWS_NAME.match(value) or "--" in value:
        raise ConfigError(
            field_name,
            f"{value!r} is not usable in AWS names",
            "use 1-32 lowercase letters, digits and single hyphens, starting with a letter",
        )


def _check_range(field_name: str, value: int, low: int, high: int, fix: str = "") -> None:
    if not low <= value <= high:
        raise ConfigError(field_name, f"{value} is outside {low}-{high}", fix or f"use a value from {low} to {high}")


def _check_instance_type(field_name: str, value: str) -> None:
    if not INSTANCE_TYPE.match(value):
        raise ConfigError(
            field_name, f"{value!r} does not look like an EC2 instance type", "write it like m5.large or t3.micro"
        )


@dataclass(frozen=True)
class HealthCheck:
    """A container health check (ECS HealthCheck)."""

    command: tuple[str, ...]
    interval: int = 30
    timeout: int = 5
    retries: int = 3
    start_period: int = 0

    def __post_init__(self) -> None:
        if not self.command:
            raise ConfigError("health_check.command", "is empty", 'give a command such as ["CMD-SHELL", "curl -f http://localhost/"]')
        _check_range("health_check.interval", self.interval, 5, 300)
        _check_range("health_check.timeout", self.timeout, 2, 60)
        _check_range("health_check.retries", self.retries, 1, 10)
        _check_range("health_check.start_period", self.start_period, 0, 300)


@dataclass(frozen=True)
class Volume:
    """A task volume, optionally backed by a host path."""

    name: str
    host_path: str = ""


@dataclass(frozen=True)
class MountPoint:
    volume: str
    container_path: str
    read_only: bool = False


@dataclass(frozen=True)
class ServiceAutoScaling:
    """Target-tracking on the service's average CPU."""

    min_count: int = 2
    max_count: int = 10
    target_cpu: int = 70

    def __post_init__(self) -> None:
        _check_range("autoscaling.min_count", self.min_count, 0, 10000)
        _check_range("autoscaling.max_count", self.max_count, 1, 10000)
        _check_range("autoscaling.target_cpu", self.target_cpu, 1, 100)
        if self.min_count > self.max_count:
            raise ConfigError("autoscaling.min_count", f"{self.min_count} is above max_count {self.max_count}", "lower it")


@dataclass(frozen=True)
class ServiceConfig:
    """One service of the stack: `service` (internal LB), `web-service` (public LB) or `worker` (no LB).

    Unlike the seed, `port` is the port the container listens on. With an
    application load balancer the host port is dynamic; with a classic ELB it
    is `host_port` (default: `port`).
    """

    name: str
    image: str
    kind: ServiceKind = "service"
    version: str = "latest"
    port: int = 0
    extra_ports: tuple[int, ...] = ()
    host_port: int = 0
    dns_name: str = ""
    cpu: int = 512
    memory: int = 512
    env: Mapping[str, str] = field(default_factory=lambda: types.MappingProxyType({}))
    command: tuple[str, ...] = ()
    entry_point: tuple[str, ...] = ()
    task_role_arn: str = ""
    volumes: tuple[Volume, ...] = ()
    mount_points: tuple[MountPoint, ...] = ()
    health_check: HealthCheck | None = None
    log_retention_days: int = 30
    load_balancer: LoadBalancerKind = "application"
    protocol: Protocol = "HTTP"
    health_check_path: str = "/"
    desired_count: int = -1
    deployment_minimum_healthy_percent: int = 100
    deployment_maximum_percent: int = 200
    circuit_breaker: bool = True
    autoscaling: ServiceAutoScaling | None = None
    ssl_certificate_id: str = ""
    external_zone_id: str = ""
    external_dns_name: str = ""

    def __post_init__(self) -> None:
        where = f"services.{self.name}"
        if not DNS_LABEL.match(self.name) or len(self.name) > 63:
            raise ConfigError(
                f"{where}.name", f"{self.name!r} cannot be a DNS label", "use lowercase letters, digits and hyphens, at most 63"
            )
        if self.kind not in typing.get_args(ServiceKind):
            raise ConfigError(f"{where}.kind", f"{self.kind!r} is not a service kind", "use service, web-service or worker")
        if self.load_balancer not in typing.get_args(LoadBalancerKind):
            raise ConfigError(
                f"{where}.load_balancer", f"{self.load_balancer!r} is not a load balancer kind", "use application or classic"
            )
        if self.protocol not in typing.get_args(Protocol):
            raise ConfigError(f"{where}.protocol", f"{self.protocol!r} is not supported", "use HTTP or TCP")
        if not IMAGE.match(self.image):
            raise ConfigError(f"{where}.image", f"{self.image!r} is not an image reference", "write it like nginx or registry.example.com/team/app")
        if not IMAGE_TAG.match(self.version):
            raise ConfigError(f"{where}.version", f"{self.version!r} is not an image tag", "use a tag such as latest or 1.25")
        for dns_field in ("dns_name", "external_dns_name"):
            value = getattr(self, dns_field)
            if value and not all(DNS_LABEL.match(label) for label in value.split(".")):
                raise ConfigError(f"{where}.{dns_field}", f"{value!r} is not a DNS name", "use lowercase labels separated by dots")
        if self.kind == "worker":
            if self.port:
                raise ConfigError(f"{where}.port", "a worker has no load balancer, so no port", "remove port or use kind service")
        else:
            if not self.port:
                raise ConfigError(f"{where}.port", "is required for a service with a load balancer", "set the port the container listens on")
        for i, p in enumerate((self.port, *self.extra_ports)):
            if p or i:
                _check_range(f"{where}.port" if i == 0 else f"{where}.extra_ports[{i - 1}]", p, 1, 65535)
        if self.host_port:
            _check_range(f"{where}.host_port", self.host_port, 1, 65535)
            if self.load_balancer != "classic":
                raise ConfigError(f"{where}.host_port", "only a classic ELB uses a static host port", "remove it; the ALB maps ports dynamically")
        _check_range(f"{where}.cpu", self.cpu, *TASK_CPU_RANGE, fix="ECS accepts 128 to 10240 CPU units")
        _check_range(f"{where}.memory", self.memory, *TASK_MEMORY_RANGE, fix="ECS accepts 128 to 122880 MiB")
        for key in self.env:
            if not ENV_VAR.match(key):
                raise ConfigError(f"{where}.env.{key}", "is not a valid environment variable name", "use letters, digits and _, not starting with a digit")
        if not HTTP_PATH.match(self.health_check_path):
            raise ConfigError(f"{where}.health_check_path", f"{self.health_check_path!r} must start with /", "write it like /health")
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            raise ConfigError(f"{where}.log_retention_days", f"{self.log_retention_days} is not a CloudWatch Logs retention",
                              f"use one of {', '.join(map(str, LOG_RETENTION_DAYS))}")
        names = {v.name for v in self.volumes}
        for m in self.mount_points:
            if m.volume not in names:
                raise ConfigError(f"{where}.mount_points", f"volume {m.volume!r} is not declared", "add it under volumes")
        if self.desired_count == -1:
            object.__setattr__(self, "desired_count", 1 if self.kind == "worker" else 2)
        _check_range(f"{where}.desired_count", self.desired_count, 0, 10000)
        _check_range(f"{where}.deployment_minimum_healthy_percent", self.deployment_minimum_healthy_percent, 0, 100)
        _check_range(f"{where}.deployment_maximum_percent", self.deployment_maximum_percent, 100, 400)
        if self.autoscaling and not self.autoscaling.min_count <= self.desired_count <= self.autoscaling.max_count:
            raise ConfigError(
                f"{where}.desired_count",
                f"{self.desired_count} is outside autoscaling {self.autoscaling.min_count}-{self.autoscaling.max_count}",
                "set it between the auto-scaling minimum and maximum",
            )
        if self.ssl_certificate_id and not ACM_ARN.match(self.ssl_certificate_id):
            raise ConfigError(
                f"{where}.ssl_certificate_id", "is not an ACM certificate ARN", "use arn:aws:acm:<region>:<account>:certificate/<id>"
            )
        if self.kind != "web-service":
            for web_only in ("ssl_certificate_id", "external_zone_id", "external_dns_name"):
                if getattr(self, web_only):
                    raise ConfigError(f"{where}.{web_only}", f"only a web-service has {web_only}", "remove it or use kind web-service")
        if self.external_zone_id and not ZONE_ID.match(self.external_zone_id):
            raise ConfigError(f"{where}.external_zone_id", f"{self.external_zone_id!r} is not a hosted zone id", "write it like Z123EXAMPLE")
        if self.kind == "web-service" and self.protocol == "TCP":
            raise ConfigError(f"{where}.protocol", "a web-service serves HTTP", "remove protocol or use kind service")
        if self.protocol == "TCP" and self.kind != "worker" and self.load_balancer != "classic":
            raise ConfigError(f"{where}.protocol", "TCP needs a classic load balancer (an ALB speaks HTTP)", "add load_balancer: classic")
        if self.external_zone_id and "." not in self.external_dns_name:
            raise ConfigError(f"{where}.external_dns_name", "is required as a full name with external_zone_id", "write it like www.example.com")
        if self.protocol == "TCP" and self.health_check_path != "/":
            raise ConfigError(f"{where}.health_check_path", "a TCP health check has no path", "remove health_check_path")
        if self.task_role_arn and not self.task_role_arn.startswith("arn:"):
            raise ConfigError(f"{where}.task_role_arn", "is not an ARN", "use arn:aws:iam::<account>:role/<name>")

    @property
    def logical_id(self) -> str:
        """The nested stack's logical id in the root: nginx -> NginxService, my-api -> MyApiService."""
        return "".join(part.capitalize() for part in self.name.split("-")) + "Service"

    @property
    def record_name(self) -> str:
        """The label under the stack's domain: `<dns_name or name>`."""
        return self.dns_name or self.name

    @property
    def container_ports(self) -> tuple[int, ...]:
        return tuple(p for p in (self.port, *self.extra_ports) if p)


@dataclass(frozen=True)
class StackConfig:
    """A whole environment: network, cluster, bastion and services."""

    name: str
    environment: str
    key_name: str
    region: str = "us-west-2"
    cidr: str = "10.30.0.0/16"
    az_count: int = 0
    availability_zones: tuple[str, ...] = ()
    internal_subnets: tuple[str, ...] = ()
    external_subnets: tuple[str, ...] = ()
    domain_name: str = "stack.local"
    ssh_cidr: str = "0.0.0.0/0"
    use_nat_instances: bool = False
    use_eip_with_nat_instances: bool = False
    nat_instance_type: str = "t3.nano"
    logs_expiration_enabled: bool = False
    logs_expiration_days: int = 30
    log_bucket_name: str = ""
    bastion_instance_type: str = "t2.micro"
    bastion_ami: str = ""
    ecs_cluster_name: str = ""
    ecs_instance_type: str = "m4.large"
    ecs_instance_ebs_optimized: bool = True
    ecs_min_size: int = 3
    ecs_max_size: int = 100
    ecs_desired_capacity: int = 3
    ecs_root_volume_size: int = ECS_ROOT_SNAPSHOT_GIB
    ecs_docker_volume_size: int = 25
    ecs_docker_auth_type: str = ""
    ecs_docker_auth_data: str = ""
    ecs_security_groups: tuple[str, ...] = ()
    ecs_ami: str = ""
    ecs_scaling: ScalingMode = "simple"
    extra_cloud_config_type: str = "text/cloud-config"
    extra_cloud_config_content: str = ""
    services: tuple[ServiceConfig, ...] = ()
    plan: cidr_plan.SubnetPlan = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for required in ("name", "environment", "key_name"):
            if not getattr(self, required):
                raise ConfigError(required, "is required", f"set {required} in the stack description")
        _check_name("name", self.name)
        _check_name("environment", self.environment)
        if self.ecs_cluster_name:
            _check_name("ecs_cluster_name", self.ecs_cluster_name)
        if not KEY_NAME.match(self.key_name):
            raise ConfigError("key_name", f"{self.key_name!r} is not an EC2 key pair name", "use printable ASCII, at most 255 characters")
        if not is_known_region(self.region):
            raise ConfigError(
                "region",
                f"{self.region!r} has no known ELB log-delivery account and no service-principal fallback",
                f"use one of {', '.join(KNOWN_REGIONS)}",
            )
        self._plan_network()
        if self.domain_name.endswith(".") or not all(DNS_LABEL.match(p) for p in self.domain_name.split(".")):
            raise ConfigError("domain_name", f"{self.domain_name!r} is not a DNS name", "write it like stack.local")
        cidr_plan.parse_ipv4_any(self.ssh_cidr, "ssh_cidr")
        if self.use_eip_with_nat_instances and not self.use_nat_instances:
            raise ConfigError(
                "use_eip_with_nat_instances",
                "only applies to NAT instances",
                "set use_nat_instances: true as well, or drop it (NAT gateways always have an EIP)",
            )
        _check_range("logs_expiration_days", self.logs_expiration_days, 1, 36500)
        if self.log_bucket_name and not re.match(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", self.log_bucket_name):
            raise ConfigError("log_bucket_name", f"{self.log_bucket_name!r} is not a valid S3 bucket name", "use 3-63 lowercase letters, digits, dots and hyphens")
        for t in ("nat_instance_type", "bastion_instance_type", "ecs_instance_type"):
            _check_instance_type(t, getattr(self, t))
        for ami_field in ("ecs_ami", "bastion_ami"):
            value = getattr(self, ami_field)
            if value and not AMI_ID.match(value):
                raise ConfigError(ami_field, f"{value!r} is not an AMI id", "write it like ami-0123456789abcdef0, or leave it empty for the default")
        self._check_cluster_sizes()
        if bool(self.ecs_docker_auth_type) != bool(self.ecs_docker_auth_data):
            missing = "ecs_docker_auth_data" if self.ecs_docker_auth_type else "ecs_docker_auth_type"
            raise ConfigError(missing, "is required when the other ecs_docker_auth_* field is set", "set both (for example dockercfg and its JSON) or neither")
        for i, sg in enumerate(self.ecs_security_groups):
            if not SG_ID.match(sg):
                raise ConfigError(f"ecs_security_groups[{i}]", f"{sg!r} is not a security group id", "write it like sg-0123456789abcdef0")
        if self.ecs_scaling not in typing.get_args(ScalingMode):
            raise ConfigError("ecs_scaling", f"{self.ecs_scaling!r} is not a scaling mode", "use simple (the seed's alarms) or managed (ECS capacity provider)")
        if not CLOUD_CONFIG_TYPE.match(self.extra_cloud_config_type):
            raise ConfigError("extra_cloud_config_type", f"{self.extra_cloud_config_type!r} is not a MIME text type", "use text/cloud-config or text/x-shellscript")
        self._check_services()

    def _plan_network(self) -> None:
        vpc = cidr_plan.parse_vpc_cidr(self.cidr)
        for i, az in enumerate(self.availability_zones):
            if not AZ_NAME.match(az):
                raise ConfigError(f"availability_zones[{i}]", f"{az!r} is not an availability zone name", "write it like us-west-2a")
        counts = {
            "az_count": self.az_count,
            "availability_zones": len(self.availability_zones),
            "internal_subnets": len(self.internal_subnets),
            "external_subnets": len(self.external_subnets),
        }
        given = {k: v for k, v in counts.items() if v}
        az_count = next(iter(given.values()), 3)
        for key, value in given.items():
            if value != az_count:
                first = next(iter(given))
                raise ConfigError(key, f"gives {value} availability zones but {first} gives {az_count}", "make the lists and az_count agree")
        if not cidr_plan.MIN_AZS <= az_count <= cidr_plan.MAX_AZS:
            raise ConfigError("az_count", f"{az_count} availability zones cannot be planned", "use 2 to 4")
        object.__setattr__(self, "az_count", az_count)
        if self.internal_subnets or self.external_subnets:
            plan = cidr_plan.explicit_plan(vpc, list(self.internal_subnets), list(self.external_subnets), az_count)
        else:
            plan = cidr_plan.plan_subnets(vpc, az_count)
        object.__setattr__(self, "plan", plan)

    def _check_cluster_sizes(self) -> None:
        for f in ("ecs_min_size", "ecs_max_size", "ecs_desired_capacity"):
            _check_range(f, getattr(self, f), 0 if f != "ecs_max_size" else 1, 10000, "use a whole number of instances")
        if self.ecs_min_size > self.ecs_desired_capacity:
            raise ConfigError("ecs_min_size", f"{self.ecs_min_size} is above ecs_desired_capacity {self.ecs_desired_capacity}", "keep min <= desired <= max")
        if self.ecs_desired_capacity > self.ecs_max_size:
            raise ConfigError("ecs_desired_capacity", f"{self.ecs_desired_capacity} is above ecs_max_size {self.ecs_max_size}", "keep min <= desired <= max")
        _check_range("ecs_root_volume_size", self.ecs_root_volume_size, ECS_ROOT_SNAPSHOT_GIB, EBS_GP3_MAX_GIB,
                     f"gp3 volumes are at most {EBS_GP3_MAX_GIB} GiB and the ECS AMI's root snapshot needs {ECS_ROOT_SNAPSHOT_GIB}")
        _check_range("ecs_docker_volume_size", self.ecs_docker_volume_size, EBS_GP3_MIN_GIB, EBS_GP3_MAX_GIB,
                     f"gp3 volumes are {EBS_GP3_MIN_GIB} to {EBS_GP3_MAX_GIB} GiB")

    def _check_services(self) -> None:
        seen: dict[str, str] = {}
        records: dict[str, str] = {}
        for svc in self.services:
            if svc.name in seen:
                raise ConfigError(f"services.{svc.name}", "is listed twice", "give each service a unique name")
            if svc.logical_id in seen.values():
                other = next(k for k, v in seen.items() if v == svc.logical_id)
                raise ConfigError(f"services.{svc.name}.name", f"maps to the same logical id ({svc.logical_id}) as {other}", "rename one of them")
            seen[svc.name] = svc.logical_id
            if svc.kind == "worker":
                continue
            if svc.record_name in records:
                raise ConfigError(
                    f"services.{svc.name}.dns_name",
                    f"{svc.record_name}.{self.domain_name} is also used by {records[svc.record_name]}",
                    "give each service a unique dns_name",
                )
            records[svc.record_name] = svc.name

    @property
    def cluster_name(self) -> str:
        return self.ecs_cluster_name or self.name

    def with_changes(self, **changes: Any) -> StackConfig:
        """A copy with some fields replaced, validated again."""
        return dataclasses.replace(self, **changes)


# ---------------------------------------------------------------- loading


def load_config(path: str | Path) -> StackConfig:
    """Read and validate a YAML stack description."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), f"cannot be read ({exc.strerror})", "check the path") from None
    return parse_config(text, source=str(path))


def parse_config(text: str, source: str = "<string>") -> StackConfig:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(source, f"is not valid YAML{where}: {problem}", "fix the YAML syntax") from None
    if not isinstance(data, dict):
        raise ConfigError(source, "must be a YAML mapping of settings", "start with name:, environment: and key_name:")
    return from_mapping(StackConfig, data, "")


T = typing.TypeVar("T")


def from_mapping(cls: type[T], data: Mapping[str, Any], path: str) -> T:
    """Build a config dataclass from plain data, rejecting unknown keys and wrong types."""
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        where = f"{path}{key}"
        if key not in fields:
            close = difflib.get_close_matches(str(key), list(fields), n=1)
            fix = f"did you mean {close[0]}?" if close else "remove it (see stack.yaml for the known keys)"
            raise ConfigError(where, "is not a known setting", fix)
        if key == "services" and cls is StackConfig:
            kwargs[key] = _services(value, where)
        else:
            kwargs[key] = _coerce(hints[key], value, where)
    for name, f in fields.items():
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        if required and name not in kwargs:
            raise ConfigError(f"{path}{name}", "is required", f"add {name}: to the description")
    return cls(**kwargs)


def _services(value: Any, where: str) -> tuple[ServiceConfig, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ConfigError(where, "must be a list of services", "write each as - name: ... image: ...")
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise ConfigError(f"{where}[{i}]", "must be a mapping", "write it as - name: ... image: ...")
        label = item.get("name", i)
        out.append(from_mapping(ServiceConfig, item, f"services.{label}."))
    return tuple(out)


def _coerce(hint: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _coerce(inner, value, where)
    if origin is Literal:
        if value not in args:
            raise ConfigError(where, f"{value!r} is not allowed", f"use one of {', '.join(map(str, args))}")
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(where, f"expected true or false, got {value!r}", "write true or false")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(where, f"expected a whole number, got {value!r}", "write a positive integer")
        return value
    if hint is str:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ConfigError(where, f"expected a string, got {value!r}", "quote the value")
        return str(value)
    if origin is tuple:
        if not isinstance(value, list):
            raise ConfigError(where, f"expected a list, got {value!r}", "write a YAML list")
        return tuple(_coerce(args[0], v, f"{where}[{i}]") for i, v in enumerate(value))
    if origin in (Mapping, dict) or hint is Mapping:
        if not isinstance(value, dict):
            raise ConfigError(where, f"expected a mapping, got {value!r}", "write NAME: value pairs")
        return types.MappingProxyType({str(k): _coerce(str, v, f"{where}.{k}") for k, v in sorted(value.items())})
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            raise ConfigError(where, f"expected a mapping, got {value!r}", "write it as key: value pairs")
        return from_mapping(hint, value, f"{where}.")
    raise TypeError(f"no coercion for {hint!r}")  # a programming error, not user input
