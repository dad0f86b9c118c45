"""From a stack description to named JSON templates: the one path every command uses."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from troposphere import Template

from stack_cfn.blueprints.contract import Contract
from stack_cfn.blueprints.group import build_group, group_file
from stack_cfn.blueprints.registry import GENERIC_CONFIG, MODULES, PLACED, ROOT_CONTRACT, ROOT_NESTED, Module, Placed, Seats, built, service_seats
from stack_cfn.blueprints.root import Nested, build_root, canonical_json
from stack_cfn.errors import ConfigError
from stack_cfn.model import names, quotas
from stack_cfn.model.config import StackConfig
from stack_cfn.model.placement import ROOT, Cost, Limits, Placement, Room, place

ROOT_FILE = "stack.json"


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


def instances(cfg: StackConfig, files: dict[str, str], seats: Seats, placed: Placed) -> list[Nested]:
    """A nested stack per instance of every module placed so, in registry order; each template's file is added to `files`.
    Alike instances (a module's `key`) are built and serialised once."""
    out: list[Nested] = []
    for m in (m for m in MODULES if m.placed is placed):
        built_by_key: dict[str, Nested] = {}
        for shape in m.instances(cfg, seats):
            key = m.key(shape) if m.key else None
            if key is None or key not in built_by_key:
                made = nest(files, m, shape)
                if key is not None:
                    built_by_key[key] = made
            else:
                made = built_by_key[key]
            out.append(dataclasses.replace(made, logical_id=m.logical_id(shape), shape=shape, assigned=m.assigned(shape, seats),
                                           name=m.instance_name(shape)))
    return out


def nest(files: dict[str, str], m: Module[Any], shape: object) -> Nested:
    """A nested stack whose template is written once, under `<stem>.json` (a layer) or a content-addressed `<stem>-<hash>.json`."""
    template = built(m, shape)
    body = canonical_json(template)
    filename = f"{m.stem(shape)}.json" if m.fixed_file else content_name(m.stem(shape), body)
    files[filename] = body
    return Nested(m.contract, m.logical_id(shape), template, filename, shape, name=m.instance_name(shape))


def root_description(cfg: StackConfig, services: int) -> str:
    return f"stack-cfn root: {cfg.name} {cfg.environment}, nested network, cluster, bastion and {services} service(s)"


def compile_stack(cfg: StackConfig, region_network: Mapping[str, Mapping[str, str]] | None = None,
                  recorded: Placement | None = None) -> Compiled:
    """All templates of `cfg`; `region_network` makes the StackSet variant of the root (see ship/stackset.py);
    `recorded` is the placement file's (model/placement.py): which stack and which shared load balancer hold each service."""
    recorded = recorded or Placement()
    seats = service_seats(cfg, recorded)
    files: dict[str, str] = {}
    nested = instances(cfg, files, seats, ROOT_NESTED)
    units = instances(cfg, files, seats, PLACED)
    counts = Counts(files)
    placement = place(unit_costs(units, counts), recorded.groups, root_room(nested, counts), Limits(services=cfg.service_group_size))
    placement = dataclasses.replace(placement, seats=seats)
    if region_network and placement.split:
        raise ConfigError("services", f"need {len(placement.numbers)} service-group stack(s) beside the root (CloudFormation quotas), "
                          "and a StackSet deploys one template", "deploy this description with stack-cfn deploy, per region")
    in_root = [n for n in units if placement.groups[n.name] == ROOT]
    root = build_root(cfg=cfg, nested=nested, placed=in_root, outputs=ROOT_CONTRACT, region_network=region_network,
                      description=root_description(cfg, len(in_root)))
    files[ROOT_FILE] = canonical_json(root)
    operations = {ROOT_FILE: [n.filename for n in (*nested, *in_root)]}
    for number in placement.numbers:
        members = [n for n in units if placement.groups[n.name] == number]
        files[group_file(number)] = canonical_json(build_group(cfg, number, members))
        operations[group_file(number)] = [n.filename for n in members]
    check_quotas(files, operations, counts)
    return Compiled(files=dict(sorted(files.items())), stacks=tuple(operations), placement=placement, warnings=account_warnings(cfg, placement, operations),
                    operations={top: tuple(uses) for top, uses in operations.items()})


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


def unit_costs(units: list[Nested], counts: Counts) -> list[Cost]:
    return [Cost(n.name, counts.resources(n.filename)) for n in units]


def root_room(nested: list[Nested], counts: Counts) -> Room:
    """What the root's operation holds before any placed unit: a nested stack per layer and data module, and their resources."""
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


def _strip_required_defaults(t: Template, contracts: Sequence[type[Contract[Any]]]) -> Template:
    """The seed's required inputs (rows marked `required`) get no default in the generic templates."""
    required = {p.name for contract in contracts for p in contract.params() if p.required}
    for key in required & set(t.parameters):
        t.parameters[key].properties.pop("Default", None)
    return t


def compile_generic() -> Compiled:
    """The drop-in templates of templates/: each module's generic shapes, and the root of the seed's defaults, required inputs left to the user."""
    contracts = [m.contract for m in MODULES]
    files: dict[str, str] = {}
    for m in MODULES:
        for filename, shape in m.generic().items():
            files[filename] = canonical_json(_strip_required_defaults(built(m, shape), [m.contract]))
    nested = instances(GENERIC_CONFIG, {}, {}, ROOT_NESTED)
    root = build_root(cfg=GENERIC_CONFIG, nested=nested, outputs=ROOT_CONTRACT, description=root_description(GENERIC_CONFIG, 0))
    files[ROOT_FILE] = canonical_json(_strip_required_defaults(root, contracts))
    return Compiled(files=dict(sorted(files.items())))
