"""A service-group stack: services past what one operation of the root may hold (model/placement.py).

Each service is nested as in the root, under the same logical id and from the
same content-addressed template, with its own literals; its wiring parameters
stay empty, so the service imports `<RootStackName>-<Output>` (and a
database's `<RootStackName>-<database>-<Output>`). No `Fn::GetAtt` at all: the
group's template lints in time linear in its services.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from troposphere import Template, cloudformation

from stack_cfn.blueprints.common import new_template
from stack_cfn.blueprints.contract import Assigned, Contract, ContractError, Declared, FromModule, Param, PerService, RootName, Wired, declare
from stack_cfn.blueprints.root import Nested
from stack_cfn.model import names
from stack_cfn.model import rules as R
from stack_cfn.model.config import StackConfig


class ServiceGroup(Contract[StackConfig]):
    """services-<n>.json: a top-level stack of services past what one operation of the root may hold.

    Its services are nested like the root's, with the same logical ids, but
    leave their wiring empty: each imports `<RootStackName>-<Output>`, so the
    group needs the root deployed first and is deleted before it."""

    RootStackName = Param("The root stack whose exports the services import", rule=R.STACK_NAME,
                          default=lambda c: c.stack_name)


def group_file(number: int) -> str:
    return names.group_file(number)


def build_group(cfg: StackConfig, number: int, services: Sequence[Nested]) -> Template:
    t = new_template(f"stack-cfn service group {number} of {cfg.name} {cfg.environment}: {len(services)} service(s), "
                     "importing the root stack's exports")
    p = declare(t, ServiceGroup, cfg)
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
        return None
    raise ContractError(f"a service group cannot supply {param.name} of {child.logical_id}")
