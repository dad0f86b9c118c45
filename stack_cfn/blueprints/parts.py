"""What the builders of one service template share: the declared parameters and the wiring values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from troposphere import Equals, If, ImportValue, Join, Split, Template

from stack_cfn.blueprints.contract import Declared, Wired
from stack_cfn.blueprints.interfaces import Service as S
from stack_cfn.model.config import ServiceConfig


@dataclass(frozen=True)
class Parts:
    """What the steps of one service template share."""

    t: Template
    svc: ServiceConfig
    p: Declared
    wiring: dict[str, Any]  # wiring parameter name -> its value (the parameter, or the import when empty)

    def wired(self, param: Any) -> Any:
        self.p[param]  # noqa: B018  raises if this shape does not declare it
        return self.wiring[param.name]


def wiring_values(t: Template, svc: ServiceConfig, p: Declared) -> dict[str, Any]:
    """Each wiring parameter, or (left empty) the import `<StackName>-<output>` its row names."""
    values: dict[str, Any] = {}
    for param in S.declared(svc):
        if not isinstance(param.supply, Wired):
            continue
        condition = f"Import{param.name}"
        imported = ImportValue(Join("-", [p[S.StackName], param.supply.output(svc).name]))
        if param.type == "CommaDelimitedList":
            t.add_condition(condition, Equals(Join(",", p[param]), ""))
            values[param.name] = If(condition, Split(",", imported), p[param])
        else:
            t.add_condition(condition, Equals(p[param], ""))
            values[param.name] = If(condition, imported, p[param])
    return values


