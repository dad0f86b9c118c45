"""What the builders of one service template share: the declared parameters and the wiring values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from troposphere import Equals, If, ImportValue, Join, Split, Template

from stack_cfn.blueprints.contract import Contract, Declared, FromModule, Wired
from stack_cfn.blueprints.service_contract import Service as S
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


def wiring_values(t: Template, svc: Any, p: Declared, contract: type[Contract] = S) -> dict[str, Any]:
    """Each wiring parameter, or (left empty) the import `<StackName>-<output>` its row names
    (`<StackName>-<database>-<output>` for a database's, the database named by its own parameter)."""
    values: dict[str, Any] = {}
    for param in contract.declared(svc):
        if not isinstance(param.supply, Wired | FromModule):
            continue
        condition = f"Import{param.name}"
        if isinstance(param.supply, FromModule):
            export = Join("-", [p[contract.StackName], p[param.supply.named_by], param.supply.output.name])  # type: ignore[attr-defined]  # every consumer contract declares StackName
        else:
            export = Join("-", [p[contract.StackName], param.supply.output(svc).name])  # type: ignore[attr-defined]  # as above
        imported = ImportValue(export)
        if param.type == "CommaDelimitedList":
            t.add_condition(condition, Equals(Join(",", p[param]), ""))
            values[param.name] = If(condition, Split(",", imported), p[param])
        else:
            t.add_condition(condition, Equals(p[param], ""))
            values[param.name] = If(condition, imported, p[param])
    return values


