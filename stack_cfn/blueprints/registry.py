"""Every module of a stack, declared once, in deploy order: the one place a module is registered.

A module is one `Module` row: its `name`, its `contract` (the template
interface, in `<module>_contract.py` beside its builder), its `build` (shape ->
Template), the `instances` a StackConfig has of it (0..n shapes), each
instance's `instance_name`, `logical_id` and file `stem`, how it is `placed`,
its `generic` drop-in templates for templates/ (file name -> shape), and its
`docs` (a summary line, its settings sections, its stack-file key, its diagram
part and table; see drawing.py). The compiler (compile_stack, compile_generic
and so templates/.stack-cfn-files), the root, the placement, the reference
docs, the diagram and the contract tests iterate `MODULES`; none of them names
a module (tests/test_registry.py checks it).

Placement (`placed`):
- `ROOT_NESTED`: nested in the root, counted in the root's room before any unit
  (network, cluster, bastion, the shared load balancers, databases, IAM users).
  With `fixed_file` its template is `<stem>.json` (a layer, one per stack: use
  `layer(...)`); otherwise content-addressed `<stem>-<hash>.json`.
- `PLACED`: a unit costed by its resources, which model/placement.py puts in the
  root or in a service-group stack (services; jobs). Content-addressed. Instance
  names share the placement file with the services', so the model must keep
  them unique across PLACED modules.

Wiring, in the contract's rows (contract.py): `FromConfig` (a user-facing
parameter), `Wired(lambda s: Network.Outputs.VpcId)` (a layer's output),
`PerService()` (the instance's own literal), `RootName()`, `Assigned()` (the
module's `assigned` hook), and `FromModule(Database.Outputs.Endpoint, lambda
shape: <the instance's name>, <the consumer's parameter naming it>)`: an output
of a named instance of another module. The root wires `GetAtt(<instance>,
Outputs.X)`; standalone or in a service group it is imported as
`<StackName>-<instance>-X`. A consumer of databases (a service, a job) adds
`database_params(shape, ItsContract)` (database_contract.py) in its contract's
`declared()` and reads them with parts.wiring_values(t, shape, p, ItsContract).

How to add a module (e.g. scheduled jobs):
1. its model: `model/jobs.py` (a frozen config dataclass with a `name` and a
   `logical_id`; a StackConfig field `jobs: tuple[JobConfig, ...]`);
2. its blueprint: `blueprints/job_contract.py` (`class Job(Contract[JobConfig])`:
   Param rows, outputs in `class Outputs:`, `StackName = Param(..., supply=RootName())`)
   and `blueprints/job.py` (`build_job(job) -> Template`, `p = declare(t, Job, job)`,
   then `p[Job.X]`; a row of another contract raises ContractError);
3. ONE line in `MODULES` below (deploy order: after the databases it reads), e.g.
   `Module("job", Job, build_job, lambda c, _: c.jobs, PLACED, logical_id=lambda j: j.logical_id, stem=lambda j: "job",
           generic=lambda: {"job.json": GENERIC_JOB}, docs=Docs("a container on a schedule", key="jobs", noun="job")),`
   and its tests; `make templates` regenerates templates/, docs and the schema.

Variants of a module (e.g. the service's launch type): a `Variant` adds contract
rows and builder parts, registered with ONE line in `VARIANTS`:
   `Variant("fargate", "service", rows=FargateRows, applies=lambda s: s.launch_type == "fargate", parts=(fargate_part,)),`
- `rows`: a Contract subclass (`class FargateRows(Contract[ServiceConfig])`)
  whose Param rows (each with its own `when`, e.g. `when=is_fargate`) and
  `class Outputs:` rows join the module's contract (Contract.variants): declare()
  in the module's builder, the root and the service groups see them;
- `parts`: each `part(t, shape, p)` runs after the module's builder on every
  instance the variant `applies` to; `p` is the template's Declared, so
  `p[FargateRows.X]` is a Ref; a part may add resources or change the builder's
  (t.resources[...]). Where the module's builder itself must branch, it reads the
  variant's typed fact from the shape (e.g. `svc.launch_type`).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, cast

from troposphere import Template

from stack_cfn.blueprints.bastion import build_bastion
from stack_cfn.blueprints.bastion_contract import Bastion
from stack_cfn.blueprints.cluster import build_cluster
from stack_cfn.blueprints.cluster_contract import Cluster
from stack_cfn.blueprints.contract import Contract, Declared, S
from stack_cfn.blueprints.database import build_database
from stack_cfn.blueprints.database_contract import Database
from stack_cfn.blueprints.deployment import shifted_priorities
from stack_cfn.blueprints.drawing import (
    Docs,
    Drawing,
    bastion_drawing,
    cluster_drawing,
    database_drawing,
    database_table,
    internet_drawing,
    network_drawing,
    nothing,
    service_drawing,
    service_table,
    user_drawing,
    user_table,
)
from stack_cfn.blueprints.fargate import awsvpc_part
from stack_cfn.blueprints.fargate_contract import FargateRows
from stack_cfn.blueprints.iam_user import build_iam_user
from stack_cfn.blueprints.iam_user_contract import IamUser
from stack_cfn.blueprints.ingress import build_ingress
from stack_cfn.blueprints.ingress_contract import Ingress, IngressShape
from stack_cfn.blueprints.job import GENERIC_JOBS, JOB_DOCS, build_job, job_shapes
from stack_cfn.blueprints.job_contract import Job
from stack_cfn.blueprints.network import build_network
from stack_cfn.blueprints.network_contract import Network
from stack_cfn.blueprints.root_contract import Root
from stack_cfn.blueprints.service import build_service, shape_key
from stack_cfn.blueprints.service_contract import Service
from stack_cfn.model.capacity import SpotConfig
from stack_cfn.model.config import HealthCheck, MountPoint, ServiceAutoScaling, ServiceConfig, StackConfig, Volume
from stack_cfn.model.data import DatabaseConfig, DatabaseShape, IamUserConfig, IamUserShape, Serverless
from stack_cfn.model.deployment import DeploymentConfig, EarlyStop, LifecycleHook
from stack_cfn.model.fargate import CapacityItem, database_admits_instances
from stack_cfn.model.placement import Placement, Seat, seat
from stack_cfn.model.variants import Balancer, Exposure


class Placed(enum.Enum):
    ROOT_NESTED = "nested in the root"
    PLACED = "placed in the root or a service group, by its resources"


ROOT_NESTED = Placed.ROOT_NESTED
PLACED = Placed.PLACED

Seats = Mapping[str, Seat]


@dataclass(frozen=True)
class Module(Generic[S]):
    """One module of a stack over its shape type S (a StackConfig for a layer, a ServiceConfig...): see the module docstring."""

    name: str
    contract: type[Contract[S]]
    build: Callable[[S], Template]
    instances: Callable[[StackConfig, Seats], Sequence[S]]
    placed: Placed
    logical_id: Callable[[S], str]
    stem: Callable[[S], str]
    generic: Callable[[], Mapping[str, S]]
    docs: Docs
    fixed_file: bool = False  # `<stem>.json`, one per stack, instead of content-addressed
    instance_name: Callable[[S], str] = lambda shape: str(shape.name)  # type: ignore[attr-defined]  # every instance shape but a layer's has a name; layer() gives its own
    key: Callable[[S], str] | None = None  # alike instances (equal keys) are built once
    assigned: Callable[[S, Seats], Mapping[str, Any]] = lambda shape, seats: {}


def layer(name: str, contract: type[Contract[S]], build: Callable[[S], Template], docs: Docs,
          instances: Callable[[StackConfig, Seats], Sequence[S]] | None = None,
          generic: Callable[[], Mapping[str, S]] | None = None) -> Module[S]:
    """A layer: one fixed-name template per stack (contract.filename, contract.logical_id), present as the contract says."""
    stem = contract.filename.removesuffix(".json")
    stack = cast(Callable[[StackConfig], S], lambda cfg: cfg)  # a layer's shape is the StackConfig itself unless it says otherwise
    return Module(name, contract, build, instances or (lambda cfg, seats: [stack(cfg)] if contract.present(cfg) else []), ROOT_NESTED,
                  logical_id=lambda shape: contract.logical_id, stem=lambda shape: stem, fixed_file=True,
                  generic=generic or (lambda: {contract.filename: stack(GENERIC_CONFIG)}), docs=docs,
                  instance_name=lambda shape: name)


@dataclass(frozen=True)
class Variant:
    """A variant of a module (e.g. a launch type): contract rows and builder parts, applied where `applies(shape)`."""

    name: str
    module: str
    rows: type[Contract[Any]] | None = None
    applies: Callable[[Any], bool] = lambda shape: False
    parts: tuple[Callable[[Template, Any, Declared], None], ...] = field(default=())


# ---------------------------------------------------------------- generic shapes of templates/

GENERIC_CONFIG = StackConfig(name="stack", environment="prod")
GENERIC_SERVICES: Mapping[str, ServiceConfig] = {
    "service.json": ServiceConfig(name="service", image="image", port=80),
    "web-service.json": ServiceConfig(name="web", image="image", port=80, kind=Exposure.PUBLIC.value,
                                      ssl_certificate_id="arn:aws:acm:us-west-2:123456789012:certificate/00000000-0000-0000-0000-000000000000"),
    "worker.json": ServiceConfig(name="worker", image="image", kind=Exposure.NONE.value),
    "shared-service.json": ServiceConfig(name="service", image="image", port=80, load_balancer=Balancer.SHARED_ALB.value),  # behind ingress.json's internal ALB
}
GENERIC_DATABASES = {
    "rds.json": DatabaseShape(DatabaseConfig(name="db"), production=False),
    "rds-cluster.json": DatabaseShape(DatabaseConfig(name="db", engine="aurora-postgresql"), production=False),
}
GENERIC_USER = IamUserShape(IamUserConfig(name="user", policies=("arn:aws:iam::aws:policy/ReadOnlyAccess",)), "stack-prod")


def service_seats(cfg: StackConfig, recorded: Placement) -> dict[str, Seat]:
    """Each service behind the shared load balancers: its seat (kept from the placement file, new ones added)."""
    return seat([(s.name, s.exposure.scheme) for s in cfg.shared_services], recorded.seats)


def _ingress(cfg: StackConfig, seats: Seats) -> list[IngressShape]:
    if not Ingress.present(cfg):
        return []
    seated = Placement(seats=seats)
    return [IngressShape(cfg, internal=seated.balancers("internal"), public=seated.balancers("public"))]


def _seat(svc: ServiceConfig, seats: Seats) -> dict[str, Any]:
    at = seats.get(svc.name)
    return {Service.BalancerIndex.name: at.index, Service.RulePriority.name: at.priority, **shifted_priorities(svc, at.priority)} if at else {}


# ---------------------------------------------------------------- the registry, in deploy order

MODULES: tuple[Module[Any], ...] = (
    layer("network", Network, build_network, Docs("VPC, subnets per AZ, NAT, private DNS zone, log bucket", drawing=Drawing(vpc=network_drawing))),
    layer("cluster", Cluster, build_cluster, Docs("ECS cluster, its Auto Scaling group and capacity provider", settings=(("ecs_spot", SpotConfig),),
                                                  drawing=Drawing(vpc=cluster_drawing))),
    layer("bastion", Bastion, build_bastion, Docs("a bastion host for SSH and Session Manager", drawing=Drawing(vpc=bastion_drawing))),
    layer("ingress", Ingress, build_ingress, Docs("shared internal and public load balancers (drawn with their services)", drawing=Drawing(vpc=nothing)),
          instances=_ingress, generic=lambda: {Ingress.filename: IngressShape(GENERIC_CONFIG, internal=1, public=1)}),
    Module("database", Database, build_database, lambda c, _: [DatabaseShape(db, c.is_production, database_admits_instances(c, db.name)) for db in c.databases], ROOT_NESTED,
           logical_id=lambda s: s.db.logical_id, stem=lambda s: "rds-cluster" if s.db.is_cluster else "rds", generic=lambda: GENERIC_DATABASES,
           instance_name=lambda s: s.db.name,
           docs=Docs("an RDS instance or Aurora cluster, its password kept by RDS", settings=(("databases[]", DatabaseConfig), ("databases[].serverless", Serverless)),
                     key="databases", noun="database", drawing=Drawing(vpc=database_drawing), table=database_table)),
    Module("iam_user", IamUser, build_iam_user, lambda c, _: [IamUserShape(u, c.stack_name) for u in c.iam_users], ROOT_NESTED,
           logical_id=lambda s: s.user.logical_id, stem=lambda s: "iam-user", generic=lambda: {"iam-user.json": GENERIC_USER},
           docs=Docs("an IAM user, its policies and an access key in Secrets Manager", settings=(("iam_users[]", IamUserConfig),), key="iam_users", noun="IAM user",
                     drawing=Drawing(vpc=nothing, outside=user_drawing), table=user_table)),
    Module("service", Service, build_service, lambda c, _: c.services, PLACED, logical_id=lambda s: s.logical_id, stem=lambda s: s.kind,
           generic=lambda: GENERIC_SERVICES, key=shape_key, assigned=_seat,
           docs=Docs("an ECS service: service (internal), web-service (public) or worker, with its own, a shared or a classic load balancer",
                     settings=(("services[]", ServiceConfig), ("services[].health_check", HealthCheck), ("services[].autoscaling", ServiceAutoScaling),
                               ("services[].volumes[]", Volume), ("services[].mount_points[]", MountPoint), ("services[].capacity[]", CapacityItem),
                               ("deployment (the stack's and services[])", DeploymentConfig), ("deployment.hooks[]", LifecycleHook),
                               ("early_stop (the stack's and services[])", EarlyStop)),
                     key="services", noun="service", drawing=Drawing(top=internet_drawing, vpc=service_drawing), table=service_table)),
    Module("job", Job, build_job, job_shapes, PLACED, logical_id=lambda j: j.logical_id, stem=lambda j: "job", generic=lambda: GENERIC_JOBS, docs=JOB_DOCS),
)

VARIANTS: tuple[Variant, ...] = (
    Variant("fargate", "service", rows=FargateRows, applies=lambda s: s.awsvpc, parts=(awsvpc_part,)),
)

ROOT_CONTRACT: type[Contract[StackConfig]] = Root  # the root's own outputs


def _register_variants() -> None:
    """Each variant's rows join its module's contract (Contract.variants), so declare() and the root see them."""
    for v in VARIANTS:
        contract = module(v.module).contract
        if v.rows is not None and v.rows not in contract.variants:
            contract.variants = (*contract.variants, v.rows)


def built(m: Module[S], shape: S) -> Template:
    """An instance's template: the module's builder, then the parts of each variant that applies to the shape."""
    t = m.build(shape)
    for v in VARIANTS:
        if v.module == m.name and v.applies(shape):
            for part in v.parts:
                part(t, shape, Declared(m.contract, set(t.parameters)))
    return t


def module(name: str) -> Module[Any]:
    return next(m for m in MODULES if m.name == name)


def variant_rows(module_name: str) -> list[type[Contract[Any]]]:
    """The contract classes the variants of a module add rows from."""
    return [v.rows for v in VARIANTS if v.module == module_name and v.rows is not None]


_register_variants()
