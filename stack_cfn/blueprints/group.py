"""A service-group stack: services past what one operation of the root may hold (model/placement.py).

Each service is nested as in the root, under the same logical id and from the
same content-addressed template, with its own literals; its wiring parameters
stay empty, so the service imports `<RootStackName>-<Output>` (and a
database's `<RootStackName>-<database>-<Output>`). No `Fn::GetAtt` at all: the
group's template lints in time linear in its services.

Pinning (issue 21, export safety): each export its services may import has a
group parameter `Pinned<Export>` (default empty) passed to the wiring
parameters that import it. Empty, the services import as before; set to the
export's current value (a deploy's first phase, usecases/deploy.py), they stop
importing it, so the root may replace or remove it; the next phase empties it
again.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from troposphere import Template, cloudformation

from stack_cfn.blueprints.common import new_template
from stack_cfn.blueprints.contract import (
    Assigned,
    Contract,
    ContractError,
    Declared,
    FromModule,
    Param,
    ParamFamily,
    PerService,
    RootName,
    Shape,
    Wired,
    declare,
)
from stack_cfn.blueprints.root import Nested
from stack_cfn.model import names
from stack_cfn.model import rules as R
from stack_cfn.model.config import StackConfig


@dataclass(frozen=True)
class GroupShape:
    """What one group template is built for: the stack, and the export suffixes (`Cluster`, `main-Host`) its services import."""

    cfg: StackConfig
    imports: tuple[str, ...] = ()
    model = StackConfig

    @property
    def stack_name(self) -> str:
        return self.cfg.stack_name


@dataclass(frozen=True)
class KeyedFamily(ParamFamily):
    """One parameter per key of the shape (an export suffix), named `template.format(pin_key(key))`: stable across
    deploys, whatever else the group holds."""

    keys: Any = lambda s: ()  # Callable[[Shape], tuple[str, ...]]

    def concrete(self, shape: Shape) -> Iterator[Param]:
        for key in self.keys(shape):
            yield self.keyed(key)

    def keyed(self, key: str) -> Param:
        return dataclasses.replace(Param(self.description.format(key), default=""), name=self.template.format(pin_key(key)), owner=self.owner)


def pin_key(suffix: str) -> str:
    """An export's suffix as a parameter name's part: `Cluster` stays, `main-db-Host` becomes `MainDbHost`."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", suffix))


class ServiceGroup(Contract[GroupShape]):
    """services-<n>.json: a top-level stack of services past what one operation of the root may hold.

    Its services are nested like the root's, with the same logical ids, but
    leave their wiring empty: each imports `<RootStackName>-<Output>`, so the
    group needs the root deployed first and is deleted before it."""

    RootStackName = Param("The root stack whose exports the services import", rule=R.STACK_NAME,
                          default=lambda c: c.stack_name)
    Pinned = KeyedFamily("Pinned{}", "Empty: the services import <RootStackName>-{0}; else this value instead (a two-phase deploy)",
                         count=lambda s: 0, default=lambda s, i: "", keys=lambda s: getattr(s, "imports", ()))


def group_file(number: int) -> str:
    return names.group_file(number)


def build_group(cfg: StackConfig, number: int, services: Sequence[Nested]) -> Template:
    t = new_template(f"stack-cfn service group {number} of {cfg.name} {cfg.environment}: {len(services)} service(s), "
                     "importing the root stack's exports")
    p = declare(t, ServiceGroup, GroupShape(cfg, tuple(sorted({key for child in services for _, key in imported(child)}))))
    for child in services:
        params = {param.name: value for param in child.contract.declared(child.shape)
                  if (value := _supply(param, child, p)) is not None}
        t.add_resource(cloudformation.Stack(child.logical_id, TemplateURL=child.filename, Parameters=dict(sorted(params.items()))))
    return t


def _supply(param: Param, child: Nested, p: Declared) -> Any:
    """What the group passes: the root's name, a literal, or nothing (the service imports it)."""
    supply = param.supply
    if isinstance(supply, RootName):
        return p[ServiceGroup.RootStackName]
    if isinstance(supply, PerService):
        return param.value_for(child.shape)
    if isinstance(supply, Assigned):
        return child.assigned[param.name]
    if isinstance(supply, Wired | FromModule):
        return p[ServiceGroup.Pinned.keyed(export_suffix(param, child))]
    raise ContractError(f"a service group cannot supply {param.name} of {child.logical_id}")


def export_suffix(param: Param, child: Nested) -> str:
    """What a wiring parameter imports after `<RootStackName>-`: its output, or `<database>-<output>`."""
    supply = param.supply
    if isinstance(supply, FromModule):
        return f"{supply.instance(child.shape)}-{supply.output.name}"
    if isinstance(supply, Wired):
        return supply.output(child.shape).name
    raise ContractError(f"{param.name} of {child.logical_id} imports nothing")


def imported(child: Nested) -> list[tuple[Param, str]]:
    """The wiring parameters of a nested service, each with the export suffix it imports when left empty."""
    return [(param, export_suffix(param, child)) for param in child.contract.declared(child.shape) if isinstance(param.supply, Wired | FromModule)]
