"""The stack description: typed, validated once at the edge, immutable after.

The YAML file mirrors the seed's terraform.tf: `name`, `environment` and
`key_name` are required, everything else has the seed's default. The same
description is a Python API: build `StackConfig(...)` directly and every
check runs as it is constructed.

Each field declares its rule (model/rules.py) and documentation; cross-field
checks are the named tables below. Derived values (the address plan, the AZ
count, a service's desired count) are properties, never written back into
the inputs, so `with_changes` re-validates from what the user gave.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
import types
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from stack_cfn.errors import ConfigError
from stack_cfn.model import cidr as cidr_plan
from stack_cfn.model import fargate as FG
from stack_cfn.model import names
from stack_cfn.model import rules as R
from stack_cfn.model.alarms import AlarmsConfig, ServiceAlarms
from stack_cfn.model.aws_checks import check_aws_rules
from stack_cfn.model.aws_facts import region_of_arn
from stack_cfn.model.capacity import ARCHITECTURE, CAPACITY_CHECKS, Architecture, SpotConfig, is_mixed
from stack_cfn.model.checks import Check, check_fields, found, run_checks, setting
from stack_cfn.model.data import DatabaseConfig, IamUserConfig
from stack_cfn.model.deployment import SERVICE_DEPLOYMENT_CHECKS, DeploymentConfig, EarlyStop
from stack_cfn.model.jobs import STACK_JOB_CHECKS, JobConfig
from stack_cfn.model.policies import load_policies
from stack_cfn.model.quotas import TASK_DEFINITION_BYTES
from stack_cfn.model.regions import KNOWN_REGIONS
from stack_cfn.model.variants import BALANCED_DESIRED_COUNT, WORKER_DESIRED_COUNT, Balancer, Exposure, variant

ScalingMode = Literal["simple", "managed"]
NatGatewayLayout = Literal["per_zone", "one"]
Protocol = Literal["HTTP", "TCP"]
# env names whose literal value is probably a secret
SECRET_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|PRIVATE_KEY|API_KEY|ACCESS_KEY|CREDENTIAL", re.IGNORECASE)


@dataclass(frozen=True)
class HealthCheck:
    """A container health check (ECS HealthCheck)."""

    command: tuple[str, ...] = setting(doc='the check, e.g. ["CMD-SHELL", "curl -f http://localhost/"]')
    interval: int = setting(30, rule=R.HEALTH_INTERVAL, doc="seconds between checks")
    timeout: int = setting(5, rule=R.HEALTH_TIMEOUT, doc="seconds before a check fails")
    retries: int = setting(3, rule=R.HEALTH_RETRIES, doc="failures before the container is unhealthy")
    start_period: int = setting(0, rule=R.HEALTH_START, doc="grace seconds after start")

    def __post_init__(self) -> None:
        check_fields(self, "")
        run_checks(self, HEALTH_CHECKS, "")


HEALTH_CHECKS: tuple[Check[HealthCheck], ...] = (
    Check("command given", "command", lambda h: not h.command, "is empty", 'give a command such as ["CMD-SHELL", "curl -f http://localhost/"]'),
)


@dataclass(frozen=True)
class Volume:
    """A task volume, optionally backed by a host path."""

    name: str = setting(rule=R.Pattern(r"[A-Za-z0-9_-]{1,255}", "a volume name", "use letters, digits, - and _"), doc="volume name")
    host_path: str = setting("", rule=R.CONTAINER_PATH.with_optional(), doc="host directory; empty for a task-scoped volume")

    def __post_init__(self) -> None:
        check_fields(self, "")


@dataclass(frozen=True)
class MountPoint:
    """Where a task volume appears in the container."""

    volume: str = setting(doc="a volume declared under volumes")
    container_path: str = setting(rule=R.CONTAINER_PATH, doc="where it appears in the container")
    read_only: bool = setting(False, doc="mount read-only")

    def __post_init__(self) -> None:
        check_fields(self, "")


@dataclass(frozen=True)
class ServiceAutoScaling:
    """Target-tracking on the service's average CPU."""

    min_count: int = setting(2, rule=R.TASK_COUNT, doc="fewest tasks")
    max_count: int = setting(10, rule=R.MAX_TASK_COUNT, doc="most tasks")
    target_cpu: int = setting(70, rule=R.PERCENT, doc="target average CPU percent")

    def __post_init__(self) -> None:
        check_fields(self, "")
        if self.min_count > self.max_count:
            raise ConfigError("min_count", f"{self.min_count} is above max_count {self.max_count}", "lower it")


@dataclass(frozen=True)
class ServiceConfig:
    """One service of the stack: `service` (internal LB), `web-service` (public LB) or `worker` (no LB).

    Unlike the seed, `port` is the port the container listens on. With an
    application load balancer the host port is dynamic; with a classic ELB it
    is `host_port` (default: `port`).
    """

    name: str = setting(rule=R.DNS_LABEL, doc="ECS service, task family, container and DNS label")
    image: str = setting(rule=R.IMAGE, doc="container image without tag, e.g. nginx")
    kind: str = setting(Exposure.INTERNAL.value, rule=R.SERVICE_KIND, doc="service (internal LB), web-service (public LB) or worker (none)")
    version: str = setting("latest", rule=R.IMAGE_TAG, doc="image tag")
    port: int | None = setting(None, rule=R.PORT, doc="port the container listens on (required with a load balancer)")
    extra_ports: tuple[int, ...] = setting((), each=R.PORT, doc="further container ports")
    host_port: int = setting(0, rule=R.HOST_PORT, doc="classic ELB only: static host port (default: port)")
    dns_name: str = setting("", rule=R.DNS_NAME.with_optional(), doc="label under the stack's domain (default: name)")
    cpu: int = setting(512, rule=R.TASK_CPU, doc="CPU units per task")
    memory: int = setting(512, rule=R.TASK_MEMORY, doc="memory (MiB) per task")
    env: Mapping[str, str] = setting(factory=lambda: types.MappingProxyType({}), doc="environment variables (strings)")
    command: tuple[str, ...] = setting((), doc="container command")
    entry_point: tuple[str, ...] = setting((), doc="container entry point")
    task_role_arn: str = setting("", rule=R.IAM_ROLE_ARN.with_optional(), doc="an existing IAM role for the task's own AWS calls (default: a role of its own)")
    policies: tuple[Any, ...] = setting((), load=load_policies, doc="the task role's permissions: managed policy ARNs and statements (Effect, Action, Resource)")
    secrets: Mapping[str, str] = setting(factory=lambda: types.MappingProxyType({}), each=R.SECRET_REF,
                                         doc="NAME: Secrets Manager ARN (optionally :json-key::), SSM parameter ARN or name")
    kms_key_arn: str = setting("", rule=R.KMS_KEY_ARN.with_optional(), doc="KMS key the secrets are encrypted with (kms:Decrypt for it)")
    repository_credentials: str = setting("", rule=R.SECRETS_MANAGER_ARN.with_optional(), doc="Secrets Manager ARN of private registry credentials")
    databases: tuple[str, ...] = setting((), doc="databases of the stack this service uses: <PREFIX>_HOST/_PORT/_NAME as env, _USER/_PASSWORD as secrets")
    database_env_prefix: Mapping[str, str] = setting(factory=lambda: types.MappingProxyType({}),
                                                     doc="a database's env prefix (default: its name upper-cased, e.g. MAIN)")
    volumes: tuple[Volume, ...] = setting((), doc="task volumes")
    mount_points: tuple[MountPoint, ...] = setting((), doc="where volumes are mounted")
    health_check: HealthCheck | None = setting(None, doc="a container health check")
    log_retention_days: int = setting(30, rule=R.LOG_RETENTION, doc="days to keep container logs")
    log_retention_on_delete: bool = setting(True, doc="keep the log group when the service is deleted")
    load_balancer: str = setting(Balancer.OWN_ALB.value, rule=R.LOAD_BALANCER_KIND,
                                 doc="application (own ALB), shared (host rule on the stack's shared ALBs) or classic; default: the stack's")
    protocol: Protocol = setting("HTTP", rule=R.PROTOCOL, doc="HTTP, or TCP with a classic ELB")
    health_check_path: str = setting("/", rule=R.HTTP_PATH, doc="load balancer health check path")
    desired_count: int | None = setting(None, rule=R.TASK_COUNT, doc=f"tasks to run (default: {BALANCED_DESIRED_COUNT}, a worker {WORKER_DESIRED_COUNT})")
    deployment_minimum_healthy_percent: int = setting(100, rule=R.MIN_HEALTHY_PERCENT, doc="deployment minimum healthy percent")
    deployment_maximum_percent: int = setting(200, rule=R.MAX_PERCENT, doc="deployment maximum percent")
    circuit_breaker: bool = setting(True, doc="roll back deployments that do not become healthy")
    autoscaling: ServiceAutoScaling | None = setting(None, doc="target tracking on CPU")
    ssl_certificate_id: str = setting("", rule=R.ACM_ARN.with_optional(), doc="web-service: ACM certificate for HTTPS (required unless https: false)")
    https: bool | None = setting(None, doc="web-service: false serves plain HTTP without a certificate (say so explicitly)")
    deletion_protection: bool = setting(False, doc="protect the load balancer from deletion")
    external_zone_id: str = setting("", rule=R.ZONE_ID.with_optional(), doc="web-service: public hosted zone")
    external_dns_name: str = setting("", rule=R.DNS_NAME.with_optional(), doc="web-service: full public name")
    alarms: ServiceAlarms | None = setting(None, doc="this service's alarm thresholds, over the stack's alarms: (which it needs)")
    launch_type: FG.LaunchType = setting("ec2", rule=FG.LAUNCH_TYPE, doc="ec2 (the cluster's instances) or fargate; default: the stack's (docs/fargate.md)")
    network_mode: FG.NetworkMode | None = setting(None, rule=FG.NETWORK_MODE, doc="EC2: bridge (default) or awsvpc (a security group of the service's own); Fargate: awsvpc")
    capacity: tuple[FG.CapacityItem, ...] = setting((), doc="Fargate: the capacity provider strategy, e.g. [{provider: FARGATE_SPOT, weight: 1}] (default: all on FARGATE)")
    cpu_architecture: FG.CpuArchitecture = setting("x86_64", rule=FG.CPU_ARCHITECTURE, doc="Fargate: x86_64 or arm64 (Graviton)")
    ephemeral_storage: int | None = setting(None, rule=FG.EPHEMERAL_STORAGE, doc="Fargate: task storage GiB, 21 to 200 (default 20)")
    platform_version: str = setting("", rule=FG.PLATFORM_VERSION, doc="Fargate: LATEST (default), 1.4.0 or 1.3.0")
    deployment: DeploymentConfig | None = setting(None, doc="release strategy (docs/deployments.md); default: the stack's deployment:, else rolling")
    early_stop: EarlyStop | None = setting(None, doc="when a deploy or release stops waiting for failing new tasks (docs/deployments-watch.md); "
                                                     "default: the stack's early_stop:, each setting on its own")

    def __post_init__(self) -> None:
        where = f"services.{self.label}."
        check_fields(self, where)
        run_checks(self, SERVICE_CHECKS, where)
        run_checks(self, FG.LAUNCH_CHECKS, where)
        run_checks(self, SERVICE_DEPLOYMENT_CHECKS, where)

    @property
    def warnings(self) -> tuple[str, ...]:
        """What is legal but unwise: a literal value under a secret-looking env name."""
        return tuple(f"services.{self.name}.env.{k}: looks like a secret but is a literal in the task definition; put it under secrets: instead"
                     for k in sorted(self.env) if SECRET_NAME.search(k) and self.env[k])

    @functools.cached_property
    def _variant(self) -> tuple[Exposure, Balancer | None]:
        return variant(self.kind, self.load_balancer)  # the words were checked by their rules in __post_init__

    @property
    def exposure(self) -> Exposure:
        """Who reaches the service (its `kind`)."""
        return self._variant[0]

    @property
    def balancer(self) -> Balancer | None:
        """Its load balancer (its `load_balancer`); None for a worker, which has none."""
        return self._variant[1]

    @property
    def is_public(self) -> bool:
        """A web-service: an internet-facing load balancer."""
        return self.exposure.is_public

    @property
    def has_own_alb(self) -> bool:
        return self.balancer is Balancer.OWN_ALB

    @property
    def is_shared(self) -> bool:
        """Behind the stack's shared ALBs."""
        return self.balancer is Balancer.SHARED_ALB

    @property
    def is_classic(self) -> bool:
        return self.balancer is Balancer.CLASSIC

    @property
    def serves_plain_http(self) -> bool:
        """A public web-service that said https: false."""
        return self.is_public and self.https is False

    @property
    def label(self) -> str:
        return self.label_for(self.name)

    @staticmethod
    def label_for(name: str) -> str:
        """A name as an error's field may show it: quoted (so on one line) when it is not a valid name."""
        return name if name.isprintable() and name.isascii() and " " not in name and 0 < len(name) <= 64 else R.quote(name)

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

    @property
    def has_balancer(self) -> bool:
        return self.balancer is not None

    @property
    def default_desired_count(self) -> int:
        """Tasks to run when desired_count is not given."""
        return self.exposure.default_desired_count

    @property
    def awsvpc(self) -> bool:
        """Tasks with network interfaces of their own (Fargate, or EC2 with network_mode: awsvpc): a security group per service."""
        return FG.uses_awsvpc(self)

    @property
    def shifts_traffic(self) -> bool:
        """blue_green, canary or linear: a second target group and weighted listener rules (blueprints/deployment.py)."""
        return self.deployment is not None and self.deployment.shifts_traffic

    @property
    def desired_tasks(self) -> int:
        return self.default_desired_count if self.desired_count is None else self.desired_count

    @property
    def task_definition_bytes(self) -> int:
        """An upper estimate of what this service adds to its RegisterTaskDefinition request."""
        body = {"env": dict(self.env), "command": self.command, "entry_point": self.entry_point,
                "mounts": [dataclasses.astuple(m) for m in self.mount_points], "volumes": [dataclasses.astuple(v) for v in self.volumes],
                "health": dataclasses.astuple(self.health_check) if self.health_check else None}
        return len(json.dumps(body).encode()) + 2048  # the fixed part: names, image, ports, logging


def _bad_secret(s: ServiceConfig) -> str | None:
    return next((k for k in s.secrets if R.ENV_VAR.problem(k)), None)


def _bad_env(s: ServiceConfig) -> str | None:
    return next((k for k in s.env if R.ENV_VAR.problem(k)), None)


def _web_only(field: str) -> Check[ServiceConfig]:
    return Check(f"{field} is for web services", field, lambda s: not s.is_public and getattr(s, field),
                 f"only a web-service has {field}", "remove it or use kind web-service")


SERVICE_CHECKS: tuple[Check[ServiceConfig], ...] = (
    Check("a worker has no port", "port", lambda s: not s.has_balancer and s.port is not None,
          "a worker has no load balancer, so no port", "remove port or use kind service"),
    Check("a balanced service has a port", "port", lambda s: s.has_balancer and s.port is None,
          "is required for a service with a load balancer", "set the port the container listens on"),
    Check("a worker has no extra ports", "extra_ports", lambda s: not s.has_balancer and s.extra_ports,
          "a worker has no load balancer, so no ports", "remove extra_ports or use kind service"),
    Check("host port is for classic ELBs", "host_port", lambda s: s.host_port and not s.is_classic,
          "only a classic ELB uses a static host port", "remove it; the ALB maps ports dynamically"),
    Check("env names", lambda s: f"env.{ServiceConfig.label_for(found(_bad_env(s)))}", _bad_env, "is not a valid environment variable name", R.ENV_VAR.fix),
    Check("mounts name volumes", "mount_points", lambda s: {m.volume for m in s.mount_points} - {v.name for v in s.volumes},
          lambda s: f"volume {R.quote(sorted({m.volume for m in s.mount_points} - {v.name for v in s.volumes})[0])} is not declared",
          "add it under volumes"),
    Check("desired count within autoscaling", "desired_count",
          lambda s: s.autoscaling and not s.autoscaling.min_count <= s.desired_tasks <= s.autoscaling.max_count,
          lambda s: f"{s.desired_tasks} is outside autoscaling {s.autoscaling.min_count}-{s.autoscaling.max_count}",
          "set it between the auto-scaling minimum and maximum"),
    _web_only("ssl_certificate_id"),
    _web_only("external_zone_id"),
    _web_only("external_dns_name"),
    Check("a web service speaks HTTP", "protocol", lambda s: s.is_public and s.protocol == "TCP",
          "a web-service serves HTTP", "remove protocol or use kind service"),
    Check("TCP needs a classic ELB", "protocol", lambda s: s.protocol == "TCP" and s.has_balancer and not s.is_classic,
          "TCP needs a classic load balancer (an ALB speaks HTTP)", "add load_balancer: classic"),
    Check("an external zone needs a full name", "external_dns_name", lambda s: s.external_zone_id and "." not in s.external_dns_name,
          "is required as a full name with external_zone_id", "write it like www.example.com"),
    Check("a shared web service uses the stack's certificate", "ssl_certificate_id",
          lambda s: s.is_shared and s.is_public and s.ssl_certificate_id,
          "a shared load balancer serves one certificate for every host", "remove it and set shared_certificate_arn on the stack (e.g. a wildcard)"),
    Check("a public service needs a certificate", "ssl_certificate_id",
          lambda s: s.is_public and not s.is_shared and not s.ssl_certificate_id and s.https is not False,
          "is required for a public web-service (HTTPS on 443, 80 redirects)", "set an ACM certificate ARN, or say https: false to serve plain HTTP"),
    Check("https false means no certificate", "https", lambda s: s.https is False and s.ssl_certificate_id,
          "is false, but ssl_certificate_id is set", "remove one of them"),
    Check("https is for web services", "https", lambda s: s.https is not None and not s.is_public,
          "only a web-service has https", "remove it; internal services answer inside the VPC"),
    Check("secret names", lambda s: f"secrets.{ServiceConfig.label_for(found(_bad_secret(s)))}", _bad_secret, "is not a valid environment variable name", R.ENV_VAR.fix),
    Check("a name is env or secret", lambda s: f"secrets.{sorted(set(s.env) & set(s.secrets))[0]}", lambda s: set(s.env) & set(s.secrets),
          "is also under env", "keep it in one of env and secrets"),
    Check("deletion protection needs an ALB", "deletion_protection", lambda s: s.deletion_protection and not s.has_own_alb,
          "applies to application load balancers only", "remove it, or use load_balancer: application"),
    Check("a database once", "databases", lambda s: len(set(s.databases)) != len(s.databases), "lists a database twice", "list each once"),
    Check("prefixes name used databases", "database_env_prefix", lambda s: set(s.database_env_prefix) - set(s.databases),
          lambda s: f"names {sorted(set(s.database_env_prefix) - set(s.databases))[0]}, which is not under databases", "add it to databases or remove it"),
    Check("prefixes are env names", "database_env_prefix", lambda s: any(R.ENV_VAR.problem(v) for v in s.database_env_prefix.values()),
          "holds a prefix that is not a valid environment variable name", R.ENV_VAR.fix),
    Check("kms key is for secrets", "kms_key_arn", lambda s: s.kms_key_arn and not s.secrets, "only decrypts secrets, and there are none",
          "remove it or add secrets"),
    Check("a given task role has its own policies", "policies", lambda s: s.policies and s.task_role_arn,
          "cannot be added to the existing task_role_arn", "attach them to that role, or drop task_role_arn to get a role of the service's own"),
    Check("TCP health checks have no path", "health_check_path", lambda s: s.protocol == "TCP" and s.health_check_path != "/",
          "a TCP health check has no path", "remove health_check_path"),
    Check("container ports are distinct", "extra_ports", lambda s: _repeat(tuple(map(str, s.container_ports))),
          lambda s: f"lists port {_repeat(tuple(map(str, s.container_ports)))} twice (with port)",
          "list each port once (ECS refuses a container with a port mapped twice)"),
    Check("volume names are distinct", "volumes", lambda s: _repeat(tuple(v.name for v in s.volumes)),
          lambda s: f"declares volume {_repeat(tuple(v.name for v in s.volumes))} twice", "give each volume its own name (ECS RegisterTaskDefinition)"),
    Check("the task definition fits ECS", "env", lambda s: s.task_definition_bytes > TASK_DEFINITION_BYTES,
          lambda s: f"makes a task definition of about {s.task_definition_bytes} bytes, over ECS's quota 'task definition size' "
                    f"({TASK_DEFINITION_BYTES} bytes)",
          "move large values into an image, a file or a secret"),
)


@dataclass(frozen=True)
class StackConfig:
    """A whole environment: network, cluster, bastion and services."""

    name: str = setting(rule=R.AWS_NAME, doc="stack name, used in resource names and tags")
    environment: str = setting(rule=R.AWS_NAME, doc="environment, e.g. prod")
    key_name: str = setting("", rule=R.KEY_NAME.with_optional(), doc="EC2 key pair for SSH (default: none; Session Manager reaches every instance)")
    region: str = setting("us-west-2", rule=R.OneOf(KNOWN_REGIONS, "a region with a known ELB log-delivery account or service principal",
                                                    f"use an AWS region such as us-east-1 ({len(KNOWN_REGIONS)} are known; see model/regions.py)"),
                          doc="region of the log-delivery account and the default deploy region")
    cidr: str = setting("10.30.0.0/16", rule=R.CIDR_SHAPE, doc="VPC CIDR, a private /16 to /24")
    az_count: int | None = setting(None, rule=R.AZ_COUNT, doc="availability zones, 2 to 4 (default 3, or the lists' length)")
    availability_zones: tuple[str, ...] = setting((), each=R.AZ_NAME, doc="zone names; default: the region's zones by number")
    internal_subnets: tuple[str, ...] = setting((), each=R.CIDR_SHAPE, doc="one internal CIDR per AZ (default: the seed's /19s)")
    external_subnets: tuple[str, ...] = setting((), each=R.CIDR_SHAPE, doc="one external CIDR per AZ (default: the seed's /20s)")
    domain_name: str = setting("stack.local", rule=R.DNS_NAME, doc="private DNS zone and DHCP search domain")
    ssh_cidr: str = setting("", rule=R.CIDR_SHAPE.with_optional(), doc="who may reach the bastion on port 22 (default: nobody; use Session Manager)")
    allow_ssh_from_anywhere: bool = setting(False, doc="admit ssh_cidr: 0.0.0.0/0 (refused without it)")
    flow_logs: bool = setting(True, doc="VPC flow logs to the log bucket")
    use_nat_instances: bool = setting(False, doc="one NAT EC2 instance per AZ instead of NAT gateways")
    use_eip_with_nat_instances: bool = setting(False, doc="give NAT instances Elastic IPs")
    nat_instance_type: str = setting("t3.nano", rule=R.INSTANCE_TYPE, doc="NAT instance type")
    nat_gateways: NatGatewayLayout = setting("per_zone", rule=R.OneOf(("per_zone", "one"), "a NAT gateway layout"),
                                             doc="per_zone: a NAT gateway in every AZ; one: a single gateway (in AZ 1) for every AZ, "
                                                 "a third of the cost with 3 AZs, but AZ 1 is then a single point of failure")
    s3_endpoint: bool = setting(True, doc="an S3 gateway endpoint on the internal route tables (free): S3 traffic (ECR image layers, "
                                          "log delivery) stays off the NAT")
    logs_expiration_enabled: bool = setting(False, doc="expire load balancer logs")
    logs_expiration_days: int = setting(30, rule=R.EXPIRY_DAYS, doc="days before logs expire")
    log_bucket_name: str = setting("", rule=R.BUCKET_NAME.with_optional(), doc="log bucket name; empty lets CloudFormation pick a unique one")
    bastion: bool = setting(True, doc="a bastion host (false: reach the instances through Session Manager only)")
    bastion_instance_type: str = setting("t3.micro", rule=R.INSTANCE_TYPE, doc="bastion instance type")
    bastion_ami: str = setting("", rule=R.AMI_ID.with_optional(), doc="bastion AMI; empty uses Canonical's current Ubuntu LTS")
    bastion_root_volume_size: int = setting(16, rule=R.BASTION_VOLUME, doc="bastion root volume GiB")
    ecs_cluster_name: str = setting("", rule=R.ECS_CLUSTER_NAME.with_optional(), doc="ECS cluster name (default: <name>-<environment>)")
    ecs_instance_type: str = setting("m7i.large", rule=R.INSTANCE_TYPE, doc="container instance type")
    ecs_instance_types: tuple[str, ...] = setting((), each=R.INSTANCE_TYPE,
                                                  doc="several instance types, preferred first: a mixed-instances policy (instead of ecs_instance_type)")
    ecs_spot: SpotConfig | None = setting(None, doc="run part of the instances on Spot, with Capacity Rebalancing: {on_demand_base: N, on_demand_percent: P}")
    ecs_architecture: Architecture = setting("x86_64", rule=ARCHITECTURE,
                                             doc="x86_64, or arm64 (AWS Graviton): the arm64 ECS-optimized image; every instance type must match")
    allow_container_imds: bool = setting(False, doc="let containers reach the instance metadata service (and so the instance role)")
    ecs_instance_ebs_optimized: bool = setting(True, doc="EBS-optimized instances")
    ecs_min_size: int = setting(3, rule=R.INSTANCE_COUNT, doc="fewest instances")
    ecs_max_size: int = setting(100, rule=R.MAX_INSTANCE_COUNT, doc="most instances")
    ecs_desired_capacity: int = setting(3, rule=R.INSTANCE_COUNT,
                                        doc="instances at first: ecs_min_size (the group starts at its minimum; scaling sizes it after)")
    ecs_root_volume_size: int = setting(30, rule=R.ECS_ROOT_VOLUME, doc="root volume GiB (the AL2023 ECS AMI needs 30)")
    ecs_docker_volume_size: int = setting(25, rule=R.GP3_VOLUME, doc="docker volume GiB, attached with ecs_ami only (packer/'s image mounts it)")
    ecs_docker_auth_type: str = setting("", rule=R.DOCKER_AUTH_TYPE, doc="ECS_ENGINE_AUTH_TYPE (docker or dockercfg), read from ecs_docker_auth_secret_arn")
    ecs_docker_auth_secret_arn: str = setting("", rule=R.SECRETS_MANAGER_ARN.with_optional(),
                                              doc="Secrets Manager secret holding ECS_ENGINE_AUTH_DATA, read by the instance at boot")
    ecs_docker_auth_data: str = setting("", doc="refused: a secret in the stack file; use ecs_docker_auth_secret_arn or a service's repository_credentials")
    ecs_security_groups: tuple[str, ...] = setting((), each=R.SG_ID, doc="further groups whose members reach the instances")
    ecs_ami: str = setting("", rule=R.AMI_ID.with_optional(), doc="custom container-instance AMI (e.g. from packer/)")
    ecs_scaling: ScalingMode = setting("simple", rule=R.SCALING_MODE, doc="simple (the seed's alarms) or managed (ECS capacity provider)")
    extra_cloud_config_type: str = setting("text/cloud-config", rule=R.CLOUD_CONFIG_TYPE, doc="MIME type of the extra user-data part")
    extra_cloud_config_content: str = setting("", doc="extra user-data part")
    services: tuple[ServiceConfig, ...] = setting((), doc="services, web services and workers")
    load_balancer: str = setting(Balancer.OWN_ALB.value, rule=R.LOAD_BALANCER_KIND,
                                 doc="services' load balancer unless they say: application (one ALB each), shared or classic")
    launch_type: FG.LaunchType = setting("ec2", rule=FG.LAUNCH_TYPE, doc="services' launch type unless they say: ec2 or fargate (docs/fargate.md)")
    shared_certificate_arn: str = setting("", rule=R.ACM_ARN.with_optional(),
                                          doc="ACM certificate of the shared public ALB's HTTPS listener, covering every shared web service's name")
    alarms: AlarmsConfig | None = setting(None, doc="alarms and notifications to an SNS topic (none when absent)")
    deployment: DeploymentConfig | None = setting(None, doc="release strategy of every service with a load balancer that sets none (docs/deployments.md)")
    early_stop: EarlyStop | None = setting(None, doc="every service's early stop, under its own early_stop: settings (docs/deployments-watch.md)")
    service_group_size: int | None = setting(None, rule=R.SERVICE_GROUP_SIZE,
                                             doc="most services per stack (the root, then service-group stacks); default: what CloudFormation's quotas allow")
    databases: tuple[DatabaseConfig, ...] = setting((), doc="RDS instances and Aurora clusters, each a nested stack")
    iam_users: tuple[IamUserConfig, ...] = setting((), doc="IAM users for software outside AWS, each a nested stack")
    jobs: tuple[JobConfig, ...] = setting((), doc="scheduled jobs: containers EventBridge Scheduler starts on a schedule (docs/jobs.md)")

    def __post_init__(self) -> None:
        run_checks(self, REQUIRED_CHECKS)
        check_fields(self, "")
        run_checks(self, STACK_CHECKS)
        run_checks(self, CAPACITY_CHECKS)
        if self.ssh_cidr:
            cidr_plan.parse_ipv4_any(self.ssh_cidr, "ssh_cidr")
        self.plan  # noqa: B018  derives, and so checks, the address plan
        run_checks(self, SERVICES_CHECKS)
        run_checks(self, DATA_CHECKS)
        run_checks(self, STACK_JOB_CHECKS)
        check_aws_rules(self, self.region)  # AWS's deploy-time rules: offerings in the region, derived names, ARNs, sizes

    @functools.cached_property
    def plan(self) -> cidr_plan.SubnetPlan:
        """The address plan: the seed's layout, or the subnet lists given."""
        vpc = cidr_plan.parse_vpc_cidr(self.cidr)
        if self.internal_subnets or self.external_subnets:
            return cidr_plan.explicit_plan(vpc, list(self.internal_subnets), list(self.external_subnets), self.zone_count)
        return cidr_plan.plan_subnets(vpc, self.zone_count)

    @property
    def instance_types(self) -> tuple[str, ...]:
        """The container instance types, preferred first: ecs_instance_types, else ecs_instance_type alone."""
        return self.ecs_instance_types or (self.ecs_instance_type,)

    @property
    def mixed_instances(self) -> bool:
        """Whether the Auto Scaling group has a mixed-instances policy (several types, or Spot)."""
        return is_mixed(self.instance_types, self.ecs_spot)

    @property
    def zone_count(self) -> int:
        """How many AZs: az_count, else the length of the lists given, else 3."""
        given = [n for n in (self.az_count, len(self.availability_zones), len(self.internal_subnets), len(self.external_subnets)) if n]
        return given[0] if given else 3

    @property
    def stack_name(self) -> str:
        """The default (root) stack name: `<name>-<environment>` (--stack-name may give another)."""
        return names.stack_name(self.name, self.environment)

    @property
    def cluster_name(self) -> str:
        """The ECS cluster's name: two environments of one name in one account and region get a cluster each."""
        return names.cluster_name(self.name, self.environment, self.ecs_cluster_name)

    @property
    def has_classic_services(self) -> bool:
        """A classic ELB service registers through the ECS service role; nothing else needs one."""
        return any(s.is_classic for s in self.services)

    @property
    def warnings(self) -> tuple[str, ...]:
        return (*(w for s in self.services for w in s.warnings), *(w for j in self.jobs for w in j.warnings), *FG.instance_warnings(self))

    @property
    def shared_services(self) -> tuple[ServiceConfig, ...]:
        """Services behind the stack's shared ALBs."""
        return tuple(s for s in self.services if s.is_shared)

    @property
    def is_production(self) -> bool:
        return self.environment in ("prod", "production")

    def with_changes(self, **changes: Any) -> StackConfig:
        """A copy with some fields replaced, validated again."""
        return dataclasses.replace(self, **changes)


def _required(field: str) -> Check[StackConfig]:
    return Check(f"{field} is required", field, lambda c: not getattr(c, field), "is required", f"set {field} in the stack description")


REQUIRED_CHECKS = (
    *(_required(f) for f in ("name", "environment")),
    Check("no secret in the stack file", "ecs_docker_auth_data", lambda c: c.ecs_docker_auth_data,
          "would put registry credentials into the templates and the instances' user data",
          "store them in Secrets Manager and set ecs_docker_auth_secret_arn, or give services repository_credentials"),
)


def _zone_counts(c: StackConfig) -> dict[str, int]:
    counts = {"az_count": c.az_count or 0, "availability_zones": len(c.availability_zones),
              "internal_subnets": len(c.internal_subnets), "external_subnets": len(c.external_subnets)}
    return {k: v for k, v in counts.items() if v}


def _lists_disagree(c: StackConfig) -> str | None:
    given = _zone_counts(c)
    first = next(iter(given), None)
    return next((k for k, v in given.items() if v != given[first]), None) if first else None


def _disagreement(c: StackConfig) -> str:
    given, key = _zone_counts(c), _lists_disagree(c)
    first = next(iter(given))
    return f"gives {given[found(key)]} availability zones but {first} gives {given[first]}"


def _repeat(values: tuple[str, ...]) -> str | None:
    return next((v for i, v in enumerate(values) if v in values[:i]), None)


def _foreign_zone(c: StackConfig) -> str | None:
    return next((az for az in c.availability_zones if not az.startswith(c.region) or len(az) != len(c.region) + 1), None)


STACK_CHECKS: tuple[Check[StackConfig], ...] = (
    Check("AZ lists agree", lambda c: found(_lists_disagree(c)), _lists_disagree, _disagreement,
          "make az_count, availability_zones, internal_subnets and external_subnets agree"),
    Check("zones are distinct", "availability_zones", lambda c: _repeat(c.availability_zones),
          lambda c: f"lists {_repeat(c.availability_zones)} twice", "give each subnet pair its own availability zone"),
    Check("zones are in the region", "availability_zones", _foreign_zone,
          lambda c: f"{_foreign_zone(c)} is not a zone of region {c.region}",
          lambda c: f"set region to the zones' region, or use zones like {c.region}a"),
    Check("one NAT gateway needs NAT gateways", "nat_gateways", lambda c: c.nat_gateways == "one" and c.use_nat_instances,
          "one applies to NAT gateways, but use_nat_instances is true", "drop nat_gateways, or set use_nat_instances: false"),
    Check("EIPs need NAT instances", "use_eip_with_nat_instances", lambda c: c.use_eip_with_nat_instances and not c.use_nat_instances,
          "only applies to NAT instances", "set use_nat_instances: true as well, or drop it (NAT gateways always have an EIP)"),
    Check("min <= desired", "ecs_min_size", lambda c: c.ecs_min_size > c.ecs_desired_capacity,
          lambda c: f"{c.ecs_min_size} is above ecs_desired_capacity {c.ecs_desired_capacity}", "keep min <= desired <= max"),
    Check("desired <= max", "ecs_desired_capacity", lambda c: c.ecs_desired_capacity > c.ecs_max_size,
          lambda c: f"{c.ecs_desired_capacity} is above ecs_max_size {c.ecs_max_size}", "keep min <= desired <= max"),
    # A rolling update (an AMI or instance-type change) needs MinInstancesInService < MaxSize, and ours is
    # ecs_min_size (AWS::AutoScaling::AutoScalingGroup UpdatePolicy, AutoScalingRollingUpdate: "MinInstancesInService
    # must be less than the Auto Scaling group's MaxSize"); otherwise every launch template change fails.
    Check("room for a rolling update", "ecs_max_size", lambda c: c.ecs_min_size >= c.ecs_max_size,
          lambda c: f"{c.ecs_max_size} leaves no room above ecs_min_size {c.ecs_min_size} to replace an instance (a rolling update "
                    "keeps ecs_min_size in service and needs it below the maximum)", lambda c: f"set ecs_max_size to at least {c.ecs_min_size + 1}"),
    # CloudFormation sends an Auto Scaling group's DesiredCapacity with every update of the group, undoing what
    # scaling chose; the template leaves it out and the group starts at its minimum ("defaults to the minimum size").
    Check("the group starts at its minimum", "ecs_desired_capacity", lambda c: c.ecs_desired_capacity != c.ecs_min_size,
          lambda c: f"{c.ecs_desired_capacity} would reset the group to {c.ecs_desired_capacity} instances on every deploy "
                    f"(the group starts at ecs_min_size {c.ecs_min_size} and scaling sizes it after)",
          lambda c: f"remove it, or set ecs_min_size: {c.ecs_desired_capacity} as well"),
    Check("auth secret needs a type", "ecs_docker_auth_type", lambda c: c.ecs_docker_auth_secret_arn and not c.ecs_docker_auth_type,
          "is required when ecs_docker_auth_secret_arn is set", "set both (for example dockercfg and the secret's ARN) or neither"),
    Check("auth type needs a secret", "ecs_docker_auth_secret_arn", lambda c: c.ecs_docker_auth_type and not c.ecs_docker_auth_secret_arn,
          "is required when ecs_docker_auth_type is set", "set both (for example dockercfg and the secret's ARN) or neither"),
    Check("SSH from anywhere is explicit", "ssh_cidr", lambda c: c.ssh_cidr.endswith("/0") and not c.allow_ssh_from_anywhere,
          lambda c: f"{c.ssh_cidr} opens port 22 to the whole internet",
          "narrow it to your network, leave it out and use Session Manager, or set allow_ssh_from_anywhere: true"),
    Check("SSH needs a bastion", "ssh_cidr", lambda c: c.ssh_cidr and not c.bastion, "admits SSH to a bastion, but bastion is false",
          "remove ssh_cidr, or set bastion: true"),
)


def _clash(c: StackConfig, key: Any, among: Any = lambda s: True) -> tuple[ServiceConfig, ServiceConfig] | None:
    """The first service whose `key` an earlier one (of those `among`) already has, with that earlier one."""
    seen: dict[Any, ServiceConfig] = {}
    for s in (s for s in c.services if among(s)):
        if key(s) in seen:
            return s, seen[key(s)]
        seen[key(s)] = s
    return None


def _foreign_certificate(c: StackConfig) -> ServiceConfig | None:
    return next((s for s in c.services if s.ssl_certificate_id and region_of_arn(s.ssl_certificate_id) != c.region), None)


def _by_name(c: StackConfig) -> tuple[ServiceConfig, ServiceConfig] | None:
    return _clash(c, lambda s: s.name)


def _by_logical_id(c: StackConfig) -> tuple[ServiceConfig, ServiceConfig] | None:
    return _clash(c, lambda s: s.logical_id)


def _by_record(c: StackConfig) -> tuple[ServiceConfig, ServiceConfig] | None:
    return _clash(c, lambda s: s.record_name, lambda s: s.has_balancer)

def _stray_alarms(c: StackConfig) -> ServiceConfig | None:
    return next((s for s in c.services if s.alarms is not None and c.alarms is None), None)


def _uncertified(c: StackConfig) -> ServiceConfig | None:
    return next((s for s in c.services if s.is_public and s.is_shared and s.https is not False
                 and not c.shared_certificate_arn), None)


SERVICES_CHECKS: tuple[Check[StackConfig], ...] = (
    Check("service names are unique", lambda c: f"services.{found(_by_name(c))[0].label}", _by_name, "is listed twice", "give each service a unique name"),
    Check("logical ids are unique", lambda c: f"services.{found(_by_logical_id(c))[0].name}.name", _by_logical_id,
          lambda c: f"maps to the same logical id ({found(_by_logical_id(c))[0].logical_id}) as {found(_by_logical_id(c))[1].name}", "rename one of them"),
    Check("DNS names are unique", lambda c: f"services.{found(_by_record(c))[0].name}.dns_name", _by_record,
          lambda c: f"{found(_by_record(c))[0].record_name}.{c.domain_name} is also used by {found(_by_record(c))[1].name}", "give each service a unique dns_name"),
    Check("service alarms need the stack's", lambda c: f"services.{found(_stray_alarms(c)).name}.alarms", _stray_alarms,
          "sets thresholds, but the stack has no alarms: (and so no topic to notify)", "add alarms: to the stack, or remove the service's"),
    Check("a shared web service needs the shared certificate", lambda c: f"services.{found(_uncertified(c)).name}.https", _uncertified,
          "is not false, and the stack has no shared_certificate_arn for the shared public load balancer",
          "set shared_certificate_arn on the stack, or https: false on the service for plain HTTP"),
    Check("certificates are in the stack's region", lambda c: f"services.{found(_foreign_certificate(c)).name}.ssl_certificate_id", _foreign_certificate,
          lambda c: f"is in {region_of_arn(found(_foreign_certificate(c)).ssl_certificate_id)}, but a load balancer in {c.region} needs one of its own region",
          lambda c: f"request or import the certificate in {c.region}"),
)


def _unknown_database(c: StackConfig) -> tuple[ServiceConfig, str] | None:
    known = {d.name for d in c.databases}
    return next(((s, d) for s in c.services for d in s.databases if d not in known), None)


def _repeat_in(values: list[str]) -> str | None:
    return next((v for i, v in enumerate(values) if v in values[:i]), None)


def _db_names(c: StackConfig) -> str | None:
    return _repeat_in([d.name for d in c.databases])


def _db_records(c: StackConfig) -> str | None:
    return _repeat_in([d.record_name for d in c.databases] + [s.record_name for s in c.services if s.has_balancer])


def _user_names(c: StackConfig) -> str | None:
    return _repeat_in([u.name for u in c.iam_users])



DATA_CHECKS: tuple[Check[StackConfig], ...] = (
    Check("database names are unique", lambda c: f"databases.{_db_names(c)}", _db_names, "is listed twice", "give each database a unique name"),
    Check("DNS names are unique across databases and services", "databases", _db_records,
          lambda c: f"two databases (or a database and a service) would both be {_db_records(c)}.{c.domain_name}",
          "give one of them a dns_name of its own"),
    Check("services name known databases", lambda c: f"services.{found(_unknown_database(c))[0].name}.databases", _unknown_database,
          lambda c: f"{R.quote(found(_unknown_database(c))[1])} is not a database of this stack",
          lambda c: f"use one of: {', '.join(d.name for d in c.databases) or '(none; add it under databases:)'}"),
    Check("user names are unique", lambda c: f"iam_users.{_user_names(c)}", _user_names, "is listed twice", "give each user a unique name"),
)
