"""From a stack description to named JSON templates: the one path every command uses."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from troposphere import Template

from stack_cfn.blueprints.bastion import build_bastion
from stack_cfn.blueprints.cluster import build_cluster
from stack_cfn.blueprints.contract import FROM_SETTING, Contract, Param, PerService
from stack_cfn.blueprints.database import build_database
from stack_cfn.blueprints.deployment import shifted_priorities
from stack_cfn.blueprints.group import build_group, group_file
from stack_cfn.blueprints.iam_user import build_iam_user
from stack_cfn.blueprints.ingress import build_ingress
from stack_cfn.blueprints.interfaces import Bastion, Cluster, Database, IamUser, Ingress, IngressShape, Network, Service
from stack_cfn.blueprints.network import build_network
from stack_cfn.blueprints.root import Nested, build_root, canonical_json
from stack_cfn.blueprints.service import build_service
from stack_cfn.errors import ConfigError
from stack_cfn.model import names, quotas
from stack_cfn.model.config import ServiceConfig, StackConfig
from stack_cfn.model.data import DatabaseConfig, DatabaseShape, IamUserConfig, IamUserShape
from stack_cfn.model.placement import ROOT, Cost, Limits, Placement, Room, Seat, place, seat
from stack_cfn.model.variants import Balancer, Exposure

ROOT_FILE = "stack.json"
LAYERS: tuple[tuple[type[Contract], Callable[[StackConfig], Template]], ...] = (
    (Network, build_network), (Cluster, build_cluster), (Bastion, build_bastion),
)


@dataclass(frozen=True)
class Compiled:
    """Templates by file name; `root` names the root template, `stacks` every top-level one in deploy order
    (the root, then its service groups); `placement` says which stack holds each service."""

    files: Mapping[str, str]
    root: str = ROOT_FILE
    linted: bool = False
    stacks: tuple[str, ...] = (ROOT_FILE,)
    placement: Placement = Placement()
    warnings: tuple[str, ...] = ()  # adjustable account quotas the description needs raised
    operations: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)  # top-level template -> its nested ones, one per stack

    def operation_resources(self) -> dict[str, int]:
        """Resources one operation of each top-level stack touches: its own and every nested stack's."""
        return operation_sizes(self.operations, Counts(self.files))

    @property
    def stack_count(self) -> int:
        return stack_count(self.operations)

    def stack_name(self, filename: str, root_stack: str) -> str:
        """The CloudFormation stack of a top-level template: the root's name, or `<root>-services-<n>`."""
        return names.top_stack_name(filename, self.root, root_stack)

    @property
    def groups(self) -> tuple[str, ...]:
        return self.stacks[1:]


def content_name(stem: str, body: str) -> str:
    """`<stem>-<12 hex of sha256>.json`: identical templates share one file."""
    return f"{stem}-{hashlib.sha256(body.encode()).hexdigest()[:12]}.json"


def per_service_settings() -> dict[str, bool]:
    """Settings that only fill a service template's parameters, each with whether the template depends on its presence:
    a parameter without a default (Port) exists whatever its value, but the builder may ask whether the setting is set."""
    return {p.setting: p.default is None for p in Service.params()
            if isinstance(p, Param) and isinstance(p.supply, PerService) and p.setting and p.value is None and p.default in (FROM_SETTING, None)}


def shape_key(svc: ServiceConfig) -> str:
    """What a service template's bytes depend on: every setting but those that only fill its parameters."""
    per_service = per_service_settings()
    return repr([(f.name, (getattr(svc, f.name) is not None) if per_service[f.name] else None) if f.name in per_service else (f.name, getattr(svc, f.name))
                 for f in dataclasses.fields(svc)])


def nested_layers(cfg: StackConfig) -> list[Nested]:
    return [Nested(contract, contract.logical_id, build(cfg), contract.filename, cfg) for contract, build in LAYERS if contract.present(cfg)]


def root_description(cfg: StackConfig, services: int) -> str:
    return f"stack-cfn root: {cfg.name} {cfg.environment}, nested network, cluster, bastion and {services} service(s)"


def compile_stack(cfg: StackConfig, region_network: Mapping[str, Mapping[str, str]] | None = None,
                  recorded: Placement | None = None) -> Compiled:
    """All templates of `cfg`; `region_network` makes the StackSet variant of the root (see ship/stackset.py);
    `recorded` is the placement file's (model/placement.py): which stack and which shared load balancer hold each service."""
    recorded = recorded or Placement()
    seats = seat([(s.name, s.exposure.scheme) for s in cfg.shared_services], recorded.seats)
    files: dict[str, str] = {}
    layers = [*nested_layers(cfg), *nested_ingress(cfg, seats)]
    files.update({n.filename: canonical_json(n.template) for n in layers})
    data = nested_data(cfg, files)
    services = nested_services(cfg, files, seats)
    counts = Counts(files)
    placement = place(services_costs(services, counts), recorded.groups, root_room(layers, data, counts), Limits(services=cfg.service_group_size))
    placement = dataclasses.replace(placement, seats=seats)
    if region_network and placement.split:
        raise ConfigError("services", f"need {len(placement.numbers)} service-group stack(s) beside the root (CloudFormation quotas), "
                          "and a StackSet deploys one template", "deploy this description with stack-cfn deploy, per region")
    in_root = [n for n in services if placement.groups[n.shape.name] == ROOT]
    root = build_root(cfg, layers, in_root, region_network, root_description(cfg, len(in_root)), data)
    files[ROOT_FILE] = canonical_json(root)
    operations = {ROOT_FILE: [n.filename for n in (*layers, *data, *in_root)]}
    for number in placement.numbers:
        members = [n for n in services if placement.groups[n.shape.name] == number]
        files[group_file(number)] = canonical_json(build_group(cfg, number, members))
        operations[group_file(number)] = [n.filename for n in members]
    check_quotas(files, operations, counts)
    return Compiled(files=dict(sorted(files.items())), stacks=tuple(operations), placement=placement, warnings=account_warnings(cfg, placement, operations),
                    operations={top: tuple(uses) for top, uses in operations.items()})


def nested_ingress(cfg: StackConfig, seats: Mapping[str, Seat]) -> list[Nested]:
    """The shared load balancers, when any service is seated on them."""
    if not Ingress.present(cfg):
        return []
    seated = Placement(seats=seats)
    shape = IngressShape(cfg, internal=seated.balancers("internal"), public=seated.balancers("public"))
    return [Nested(Ingress, Ingress.logical_id, build_ingress(shape), Ingress.filename, shape)]


def account_warnings(cfg: StackConfig, placement: Placement, operations: Mapping[str, list[str]]) -> tuple[str, ...]:
    """Adjustable account quotas (defaults) this description needs raised: stacks and load balancers per Region."""
    own = sum(1 for s in cfg.services if s.has_own_alb)
    shared = placement.balancers("internal") + placement.balancers("public")
    classic = sum(1 for s in cfg.services if s.is_classic)
    found = [
        quotas.STACKS_PER_REGION.warning(stack_count(operations), "the stacks this description makes (nested ones included)"),
        quotas.ALBS_PER_REGION.warning(own + shared, f"the application load balancers ({own} of their own, {shared} shared; "
                                                     "load_balancer: shared puts up to 100 services on one)"),
        quotas.CLASSIC_PER_REGION.warning(classic, "the classic load balancers"),
        quotas.TARGET_GROUPS_PER_REGION.warning(own + len(placement.seats), "the target groups (one per ALB service)"),
    ]
    return tuple(w for w in found if w)


def nested_services(cfg: StackConfig, files: dict[str, str], seats: Mapping[str, Seat]) -> list[Nested]:
    """A nested stack per service; alike services share one template, built and serialised once."""
    services = []
    built: dict[str, Nested] = {}
    for svc in cfg.services:
        key = shape_key(svc)
        if key not in built:
            built[key] = nest(files, Service, svc.logical_id, svc.kind, build_service(svc), svc)
        at = seats.get(svc.name)
        assigned = {Service.BalancerIndex.name: at.index, Service.RulePriority.name: at.priority, **shifted_priorities(svc, at.priority)} if at else {}
        services.append(dataclasses.replace(built[key], logical_id=svc.logical_id, shape=svc, assigned=assigned))
    return services


def nest(files: dict[str, str], contract: type[Contract], logical_id: str, stem: str, template: Template, shape: object) -> Nested:
    """A nested stack whose template is written once under a content-addressed name (`<stem>-<hash>.json`)."""
    body = canonical_json(template)
    filename = content_name(stem, body)
    files[filename] = body
    return Nested(contract, logical_id, template, filename, shape)


def nested_data(cfg: StackConfig, files: dict[str, str]) -> list[Nested]:
    """A nested stack per database (rds / rds-cluster) and per IAM user; their files are added to `files`."""
    databases = [nest(files, Database, db.logical_id, "rds-cluster" if db.is_cluster else "rds", build_database(shape), shape)
                 for db in cfg.databases for shape in [DatabaseShape(db, cfg.is_production)]]
    users = [nest(files, IamUser, user.logical_id, "iam-user", build_iam_user(shape), shape)
             for user in cfg.iam_users for shape in [IamUserShape(user, cfg.stack_name)]]
    return [*databases, *users]


class Counts:
    """Resources, parameters and outputs of each template, read once per file."""

    def __init__(self, files: Mapping[str, str]) -> None:
        self.files = files
        self.seen: dict[str, tuple[int, int, int]] = {}

    def of(self, name: str) -> tuple[int, int, int]:
        if name not in self.seen:
            doc = json.loads(self.files[name])
            self.seen[name] = (len(doc.get("Resources", {})), len(doc.get("Parameters", {})), len(doc.get("Outputs", {})))
        return self.seen[name]

    def resources(self, name: str) -> int:
        return self.of(name)[0]


def services_costs(services: list[Nested], counts: Counts) -> list[Cost]:
    return [Cost(n.shape.name, counts.resources(n.filename)) for n in services]


def root_room(layers: list[Nested], data: list[Nested], counts: Counts) -> Room:
    """What the root's operation holds before any service: a nested stack per layer and data module, and their resources."""
    nested = [*layers, *data]
    return Room(operation=len(nested) + sum(counts.resources(n.filename) for n in nested), template=len(nested))


def check_quotas(files: Mapping[str, str], operations: Mapping[str, list[str]], counts: Counts) -> None:
    """Per template (resources, parameters, outputs, size) and per operation (each top-level stack with its nested ones)."""
    for name, body in files.items():
        resources, parameters, outputs = counts.of(name)
        for quota, actual in ((quotas.RESOURCES_PER_TEMPLATE, resources), (quotas.PARAMETERS_PER_TEMPLATE, parameters),
                              (quotas.OUTPUTS_PER_TEMPLATE, outputs), (quotas.TEMPLATE_BODY_BYTES, len(body.encode()))):
            if actual > quota.limit:
                raise ConfigError("services", quota.message(actual, f"{name}'s count"), FEWER)
    for top, total in operation_sizes(operations, counts).items():
        if total > quotas.RESOURCES_PER_OPERATION.limit:
            raise ConfigError("services", quotas.RESOURCES_PER_OPERATION.message(total, f"the resources one deploy of {top} touches"), FEWER)


def operation_sizes(operations: Mapping[str, Sequence[str]], counts: Counts) -> dict[str, int]:
    """Resources one operation of each top-level stack touches: its own and every nested stack's (the quota counts them all)."""
    return {top: counts.resources(top) + sum(counts.resources(name) for name in uses) for top, uses in operations.items()}


def stack_count(operations: Mapping[str, Sequence[str]]) -> int:
    """Stacks a description makes, nested ones included (the account's 'Stack count' quota counts them all)."""
    return len(operations) + sum(len(uses) for uses in operations.values())


FEWER = ("move services out of the full stack: remove them from the placement file (they are placed anew, and replaced), "
         "or set service_group_size")


# The seed's building blocks as drop-in templates: templates/service.json and friends.
GENERIC_CONFIG = StackConfig(name="stack", environment="prod")
GENERIC_SERVICES = {
    "service": ServiceConfig(name="service", image="image", port=80),
    "web-service": ServiceConfig(name="web", image="image", port=80, kind=Exposure.PUBLIC.value,
                                 ssl_certificate_id="arn:aws:acm:us-west-2:123456789012:certificate/00000000-0000-0000-0000-000000000000"),
    "worker": ServiceConfig(name="worker", image="image", kind=Exposure.NONE.value),
}


def _strip_required_defaults(t: Template, *contracts: type[Contract]) -> Template:
    """The seed's required inputs (rows marked `required`) get no default in the generic templates."""
    required = {p.name for contract in (contracts or [c for c, _ in LAYERS]) for p in contract.params() if p.required}
    for key in required & set(t.parameters):
        t.parameters[key].properties.pop("Default", None)
    return t


GENERIC_DATABASES = {
    "rds.json": DatabaseConfig(name="db"),
    "rds-cluster.json": DatabaseConfig(name="db", engine="aurora-postgresql"),
}
GENERIC_SHARED = ServiceConfig(name="service", image="image", port=80, load_balancer=Balancer.SHARED_ALB.value)  # behind ingress.json's internal ALB
GENERIC_USER = IamUserConfig(name="user", policies=("arn:aws:iam::aws:policy/ReadOnlyAccess",))


def compile_generic() -> Compiled:
    """The drop-in templates of templates/: the seed's defaults, required inputs left to the user."""
    layers = nested_layers(GENERIC_CONFIG)
    root = build_root(GENERIC_CONFIG, layers, (), None, root_description(GENERIC_CONFIG, 0))
    files = {n.filename: canonical_json(_strip_required_defaults(n.template)) for n in layers}
    files[ROOT_FILE] = canonical_json(_strip_required_defaults(root))
    for kind, svc in GENERIC_SERVICES.items():
        files[f"{kind}.json"] = canonical_json(build_service(svc))
    for filename, db in GENERIC_DATABASES.items():
        files[filename] = canonical_json(_strip_required_defaults(build_database(DatabaseShape(db, production=False)), Database))
    files["iam-user.json"] = canonical_json(_strip_required_defaults(build_iam_user(IamUserShape(GENERIC_USER, "stack-prod")), IamUser))
    files[Ingress.filename] = canonical_json(_strip_required_defaults(build_ingress(IngressShape(GENERIC_CONFIG, internal=1, public=1)), Ingress))
    files["shared-service.json"] = canonical_json(build_service(GENERIC_SHARED))
    return Compiled(files=dict(sorted(files.items())))
