"""Where a service's tasks run: the launch type (EC2 or Fargate), the network mode, and Fargate's own settings.

`launch_type: fargate` runs a service's tasks on Fargate: `awsvpc` networking with a security group of the
service's own, task-level CPU and memory from Fargate's allowed pairs, a strategy over the FARGATE and
FARGATE_SPOT capacity providers, the CPU architecture, ephemeral storage and the platform version. An EC2
service may opt into `network_mode: awsvpc` for the same per-service group. Every rule AWS sets here is a fact
of model/aws_facts.py with its source; the checks below apply them, each refusal one line with its fix.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

from stack_cfn.model import aws_facts as F
from stack_cfn.model import rules as R
from stack_cfn.model.checks import Check, check_fields, setting

if TYPE_CHECKING:
    from stack_cfn.model.config import ServiceConfig, StackConfig

LaunchType = Literal["ec2", "fargate"]
NetworkMode = Literal["bridge", "awsvpc"]
CpuArchitecture = Literal["x86_64", "arm64"]
FargateProvider = Literal["FARGATE", "FARGATE_SPOT"]

LAUNCH_TYPES = ("ec2", "fargate")  # where a task runs: the services' and the scheduled jobs' words
LAUNCH_TYPE = R.OneOf(LAUNCH_TYPES, "a launch type")
NETWORK_MODE = R.OneOf(("bridge", "awsvpc"), "a network mode")
CPU_ARCHITECTURE = R.OneOf(tuple(F.CPU_ARCHITECTURES), "a CPU architecture")
PLATFORM_VERSION = R.OneOf(("", *F.FARGATE_PLATFORM_VERSIONS), "a Fargate platform version")
PROVIDER = R.OneOf(F.FARGATE_PROVIDERS, "a Fargate capacity provider")
EPHEMERAL_STORAGE = R.Range(*F.EPHEMERAL_STORAGE_GIB, "Fargate takes 21 to 200 GiB (20 GiB without the setting)")


@dataclass(frozen=True)
class CapacityItem:
    """One item of a Fargate service's capacity provider strategy."""

    provider: FargateProvider = setting(rule=PROVIDER, doc="FARGATE or FARGATE_SPOT")
    base: int = setting(0, rule=R.Range(0, F.STRATEGY_BASE_MAX, "use 0 to 100000 tasks"), doc="tasks placed here first (one item may have a base)")
    weight: int = setting(1, rule=R.Range(0, F.STRATEGY_WEIGHT_MAX, "use 0 to 1000"), doc="share of the tasks past the bases")

    def __post_init__(self) -> None:
        check_fields(self, "")


DEFAULT_CAPACITY = (CapacityItem("FARGATE"),)


# ---------------------------------------------------------------- derived facts


def on_fargate(s: ServiceConfig) -> bool:
    return s.launch_type == "fargate"


def uses_awsvpc(s: ServiceConfig) -> bool:
    """Fargate tasks always use awsvpc; EC2 ones when they opt in."""
    return on_fargate(s) or s.network_mode == "awsvpc"


def strategy(s: ServiceConfig) -> tuple[CapacityItem, ...]:
    """The service's Fargate capacity provider strategy: what it gives, else all on FARGATE."""
    return s.capacity or DEFAULT_CAPACITY


def memory_choices(cpu: int) -> tuple[int, ...]:
    return F.FARGATE_TASK_SIZES.get(cpu, ())


def uses_fargate(c: StackConfig) -> bool:
    """Whether the cluster must offer the FARGATE and FARGATE_SPOT capacity providers."""
    return any(on_fargate(s) for s in c.services)


def cluster_providers(c: StackConfig) -> list[str]:
    """The Fargate capacity providers the cluster offers beside its instances', when a service runs on Fargate."""
    return list(F.FARGATE_PROVIDERS) if uses_fargate(c) else []


def runs_instances(c: StackConfig) -> bool:
    """Whether any task needs container instances: an EC2 service or scheduled job, or (with neither yet) an EC2 stack default."""
    if c.services or c.jobs:
        return any(not on_fargate(s) for s in c.services) or any(not j.on_fargate for j in c.jobs)
    return c.launch_type == "ec2"


# ---------------------------------------------------------------- the stack file: the stack's default launch type


def with_default_launch_type(data: dict[str, Any]) -> dict[str, Any]:
    """The stack's `launch_type` for each service that names none; and a stack whose every service runs on Fargate
    starts no instances unless it says so (ecs_min_size and ecs_desired_capacity 0: docs/fargate.md)."""
    default, services = data.get("launch_type"), data.get("services")
    if not isinstance(services, list):
        return data
    raw_jobs = data.get("jobs")
    jobs: list[Any] = raw_jobs if isinstance(raw_jobs, list) else []
    if default is not None:  # the stack's launch type is every service's and scheduled job's that names none
        services = [{**s, "launch_type": default} if isinstance(s, dict) and "launch_type" not in s else s for s in services]
        jobs = [{**j, "launch_type": default} if isinstance(j, dict) and "launch_type" not in j else j for j in jobs]
    out = {**data, "services": services, **({"jobs": jobs} if isinstance(raw_jobs, list) else {})}
    fargate_only = services and all(isinstance(s, dict) and s.get("launch_type") == "fargate" for s in services) \
        and all(isinstance(j, dict) and j.get("launch_type") == "fargate" for j in jobs)  # an EC2 job needs the instances too
    if fargate_only and "ecs_min_size" not in data and "ecs_desired_capacity" not in data:
        out.update(ecs_min_size=0, ecs_desired_capacity=0)
    return out


# ---------------------------------------------------------------- checks of one service


def _fargate_only(field: str, what: str) -> Check[ServiceConfig]:
    return Check(f"{field} is for Fargate", field, lambda s: not on_fargate(s) and getattr(s, field) not in (None, (), "", 0),
                 f"only a Fargate task has {what}", "add launch_type: fargate, or remove it")


class Sized(Protocol):
    """A task with a size: a service or a scheduled job."""

    @property
    def cpu(self) -> int: ...

    @property
    def memory(self) -> int: ...


T = TypeVar("T", bound=Sized)


def size_problem(cpu: int, memory: int) -> str | None:
    """Why a Fargate task cannot have this CPU and memory (model/aws_facts.py FARGATE_TASK_SIZES), or None."""
    if cpu not in F.FARGATE_TASK_SIZES:
        return f"{cpu} is not a Fargate task CPU size ({F.FARGATE_SIZES_SOURCE})"
    if memory not in memory_choices(cpu):
        return f"{memory} MiB is not a Fargate memory size for cpu {cpu} ({F.FARGATE_SIZES_SOURCE})"
    return None


def size_fix(cpu: int) -> str:
    if cpu not in F.FARGATE_TASK_SIZES:
        return f"use cpu: one of {', '.join(map(str, F.FARGATE_TASK_SIZES))}"
    choices = memory_choices(cpu)
    return f"use memory: {choices[0]} to {choices[-1]} (one of {', '.join(map(str, choices))}) with cpu: {cpu}" if len(choices) <= 8 else \
        f"use memory: {choices[0]} to {choices[-1]} in steps of {choices[1] - choices[0]} with cpu: {cpu}"


def size_check(runs_on_fargate: Callable[[T], bool]) -> Check[T]:
    """The one Fargate task-size check of services and jobs: `<path>.cpu` (or `.memory`): the problem; the fix."""
    return Check("Fargate task sizes", lambda x: "memory" if x.cpu in F.FARGATE_TASK_SIZES else "cpu",
                 lambda x: runs_on_fargate(x) and size_problem(x.cpu, x.memory) is not None,
                 lambda x: size_problem(x.cpu, x.memory) or "", lambda x: size_fix(x.cpu))


def _repeated_provider(s: ServiceConfig) -> str | None:
    names = [c.provider for c in s.capacity]
    return next((n for i, n in enumerate(names) if n in names[:i]), None)


def _old_platform_needs(s: ServiceConfig) -> str | None:
    """What a service on platform 1.3.0 asks for that only 1.4.0 offers."""
    if s.platform_version != F.FARGATE_PV14_ONLY:
        return None
    if s.ephemeral_storage:
        return "ephemeral_storage"
    if s.cpu_architecture == "arm64":
        return "cpu_architecture: arm64"
    return f"cpu {s.cpu}" if s.cpu in F.FARGATE_PV14_CPU else None


LAUNCH_CHECKS: tuple[Check[ServiceConfig], ...] = (
    Check("Fargate tasks use awsvpc", "network_mode", lambda s: on_fargate(s) and s.network_mode == "bridge",
          "is bridge, but Fargate tasks use awsvpc only", "remove network_mode"),
    size_check(on_fargate),
    _fargate_only("capacity", "a FARGATE / FARGATE_SPOT capacity strategy (EC2 services use the cluster's instances)"),
    _fargate_only("platform_version", "a platform version"),
    _fargate_only("ephemeral_storage", "ephemeral storage (on EC2 the instance's volumes hold it)"),
    Check("EC2 tasks run on the instances' architecture", "cpu_architecture", lambda s: not on_fargate(s) and s.cpu_architecture != "x86_64",
          "is set, but an EC2 service runs on the cluster's instances, whose architecture the stack chooses",
          "add launch_type: fargate, or remove it"),
    Check("a provider once", "capacity", _repeated_provider, lambda s: f"names {_repeated_provider(s)} twice", "list each provider once"),
    Check("one base", "capacity", lambda s: sum(1 for c in s.capacity if c.base) > 1,
          "gives a base to more than one provider, which ECS refuses (CapacityProviderStrategyItem: only one may have a base)",
          "keep base on one item"),
    Check("some weight", "capacity", lambda s: s.capacity and not any(c.weight for c in s.capacity),
          "weighs every provider 0, so ECS places no task past the base", "give one provider a weight of 1 or more"),
    Check("awsvpc targets by IP", "load_balancer", lambda s: uses_awsvpc(s) and s.is_classic,
          "is classic, which cannot register awsvpc tasks (they are targets by IP)", "use load_balancer: application or shared"),
    Check("Fargate has no host paths", "volumes", lambda s: on_fargate(s) and any(v.host_path for v in s.volumes),
          lambda s: f"volume {next(v.name for v in s.volumes if v.host_path)} has a host_path, which Fargate does not offer",
          "remove host_path (the volume is then task storage), or use launch_type: ec2"),
    Check("1.4.0 features", "platform_version", _old_platform_needs,
          lambda s: f"1.3.0 does not offer {_old_platform_needs(s)} (Fargate Linux platform 1.4.0 or later)", "use platform_version: LATEST"),
)



# ---------------------------------------------------------------- the stack: instances and databases


def instance_warnings(c: StackConfig) -> tuple[str, ...]:
    """Instances kept running for no task: every service is on Fargate, yet ecs_min_size is above 0."""
    if c.services and not runs_instances(c) and c.ecs_min_size:
        return (f"ecs_min_size: {c.ecs_min_size} instances run, but every service runs on Fargate; set ecs_min_size: 0 and "
                "ecs_desired_capacity: 0 (or remove both) unless EC2 services are coming",)
    return ()


def database_admits_instances(c: StackConfig, name: str) -> bool:
    """Whether database `name` admits the container instances' group: when a bridge-mode service names it (bridge tasks
    share their instance's group), or, as before, when no service names it and the cluster runs instances. Services
    with awsvpc admit their own groups (blueprints/fargate.py), so a database only they name admits only them."""
    users = [s for s in c.services if name in s.databases]
    if any(name in j.databases for j in c.jobs):
        return True  # a job's tasks run in the instances' group (EC2) or are given it (Fargate: blueprints/job_contract.py)
    return any(not uses_awsvpc(s) for s in users) if users else runs_instances(c)
