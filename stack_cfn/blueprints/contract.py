"""The machinery of a template interface declared once, as data.

A contract is a class whose attributes are the template's parameters (`Param`,
or `ParamFamily` for one per AZ) and whose nested `class Outputs:` holds its
outputs (`Out`): two namespaces, so `Network.Cidr` (parameter) and
`Network.Outputs.Cidr` (output) render under the same CloudFormation name. Each row says the
parameter's CloudFormation type, its constraint (the model rule of its
setting), its default (the setting's value), how its value is supplied when
the template is nested (`FromConfig`, `Wired` to another layer's output,
`PerService`, `RootName`) and for which shapes it exists (`when`).

Builders declare a contract into a template and take references from the
result (`p[Network.Cidr]`), never a bare "Cidr"; the root derives its
parameters, wiring and outputs from the same rows, and a standalone
template its imports. Names here are stable API: renaming one replaces live
resources or breaks importing stacks.
"""

from __future__ import annotations

import builtins
import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypedDict, TypeVar

from troposphere import AWSHelperFn, Parameter, Ref, Template

from stack_cfn.model.checks import field_default, field_rule
from stack_cfn.model.rules import Rule

S = TypeVar("S")  # a contract's shape: what one template of it is built for (a StackConfig, a ServiceConfig, a DatabaseShape...)
Shape = Any  # a row's shape: rows are shared between contracts of different shapes (Layer's rows on StackConfig and IngressShape)
always: Callable[[Shape], bool] = lambda _: True
FROM_SETTING = object()  # a Param default: the setting's value (None: no default at all)


class ContractError(Exception):
    """A builder or the root asked for something its contract does not declare: a programming error."""


# ---------------------------------------------------------------- how a value is supplied


@dataclass(frozen=True)
class FromConfig:
    """A user-facing parameter: the root declares it too (default from the description) and passes it on."""


@dataclass(frozen=True)
class Wired:
    """Another layer's output; a standalone template imports `<StackName>-<output>` when left empty."""

    output: Callable[[Shape], Out]
    first_item: bool = False  # pass only the first item of a comma-separated output


@dataclass(frozen=True)
class PerService:
    """A literal value of the service's description, passed by the root."""


@dataclass(frozen=True)
class RootName:
    """The root stack's own name."""


@dataclass(frozen=True)
class FromModule:
    """An output of one instance of another module: the one `instance(shape)` names (e.g. the index-th database a
    service names); the root wires its nested stack's output, standalone it is imported as `<StackName>-<instance>-<output>`."""

    output: Out
    instance: Callable[[Shape], str]  # the producing instance's name (Nested.name), read from the consumer's shape
    named_by: Param  # the consumer's parameter holding that name: a standalone template imports <StackName>-<its value>-<output>


@dataclass(frozen=True)
class Assigned:
    """A value the compiler assigns when it places the service (its shared load balancer, its rule priority)."""


Supply = FromConfig | Wired | PerService | RootName | FromModule | Assigned


# ---------------------------------------------------------------- rows


@dataclass(frozen=True)
class Param:
    description: str
    type: str = "String"
    setting: str = ""  # the model field whose rule and default this parameter takes
    rule: Rule | None = None  # a rule of its own, where no setting stands behind it
    default: Any = FROM_SETTING  # a constant, a function of the shape, or None for none
    supply: Supply = field(default_factory=FromConfig)
    when: Callable[[Shape], bool] = always
    required: bool = False  # the seed's required inputs: no default in the generic templates
    value: Callable[[Shape], Any] | None = None  # what a root passes for PerService, where not the setting itself
    name: str = ""
    owner: builtins.type | None = None

    def __set_name__(self, owner: builtins.type, name: str) -> None:
        _named(self, owner, name)

    def concrete(self, shape: Shape) -> Iterator[Param]:
        yield self

    def default_for(self, shape: Shape) -> Any:
        """The parameter's Default, or None for none."""
        if self.default is not FROM_SETTING:
            return self.default(shape) if callable(self.default) else self.default
        if not self.setting:
            return None
        value = field_default(model_of(shape), self.setting) if isinstance(self.supply, PerService) else getattr(shape, self.setting)
        return None if value is dataclasses.MISSING else cfn_value(value)

    def value_for(self, shape: Shape) -> Any:
        """The literal a root passes for a PerService parameter."""
        return cfn_value(self.value(shape) if self.value else getattr(shape, self.setting))

    def constraint(self, shape: Shape) -> dict[str, Any]:
        rule = self.rule or (field_rule(model_of(shape), self.setting) if self.setting and self.type in ("String", "Number") else None)
        if rule is None and self.setting and _is_bool(shape, self.setting):
            return {"AllowedValues": ["true", "false"]}
        return rule.cfn() if rule is not None else {}

    def describe(self, shape: Shape) -> str:
        if isinstance(self.supply, Wired) and self.default == "":
            return f"{self.description}; empty imports <StackName>-{self.supply.output(shape).name}"
        return self.description

    def render(self, shape: Shape) -> Parameter:
        body: dict[str, Any] = {"Type": self.type, "Description": self.describe(shape), **self.constraint(shape)}
        default = self.default_for(shape)
        if default is not None:
            body["Default"] = default
        return Parameter(self.name, **body)


@dataclass(frozen=True)
class ParamFamily:
    """One parameter per index (per AZ, per extra group): `template` names them from 1."""

    template: str
    description: str
    count: Callable[[Shape], int]
    default: Callable[[Shape, int], Any]
    rule: Rule | None = None
    name: str = ""
    owner: type | None = None

    def __set_name__(self, owner: type, name: str) -> None:
        _named(self, owner, name)

    def at(self, i: int, shape: Shape | None = None) -> Param:
        """The parameter of index i (0-based), named with i + 1."""
        default = (lambda s: self.default(s, i)) if shape is None else self.default(shape, i)
        return dataclasses.replace(
            Param(self.description.format(i + 1), rule=self.rule, default=default), name=self.template.format(i + 1), owner=self.owner
        )

    def concrete(self, shape: Shape) -> Iterator[Param]:
        for i in range(self.count(shape)):
            yield self.at(i)

    when = staticmethod(always)
    supply = FromConfig()
    required = False


@dataclass(frozen=True)
class Out:
    description: str
    export: bool = True
    when: Callable[[Shape], bool] = always
    source: Callable[[], Out | AWSHelperFn] | None = None  # the root's outputs: a layer's output or a value of its own
    name: str = ""
    owner: type | None = None

    def __set_name__(self, owner: type, name: str) -> None:
        _named(self, owner, name)


class ParamOptions(TypedDict, total=False):
    """How a family of rows is supplied, spread into Param(...): see literal() in layer_contract.py."""

    default: Any
    value: Callable[[Shape], Any] | None
    supply: Supply
    when: Callable[[Shape], bool]
    required: bool


class Contract(Generic[S]):
    """A template interface over its shape type S; subclasses declare Param and ParamFamily rows as class attributes
    and Out rows in their nested `class Outputs:`."""

    logical_id: ClassVar[str] = ""  # its nested stack in the root
    filename: ClassVar[str] = ""
    variants: ClassVar[tuple[type[Contract[Any]], ...]] = ()  # rows of registered variants (registry.py), each row with its own `when`

    @classmethod
    def present(cls, shape: Any) -> bool:
        """Whether a stack of this shape nests a layer of this contract."""
        return True

    @classmethod
    def params(cls) -> list[Param | ParamFamily]:
        own = [v for k in _names(cls) if isinstance(v := getattr(cls, k), Param | ParamFamily)]
        return [*own, *(p for v in cls.variants for p in v.params())]

    @classmethod
    def outputs(cls) -> list[Out]:
        own = [v for klass in cls.__mro__[::-1] for v in vars(vars(klass).get("Outputs", object)).values() if isinstance(v, Out)]
        return [*own, *(o for v in cls.variants for o in v.outputs())]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Outputs live in the contract's own namespace, `class Outputs:` (so an output may share a parameter's name:
        `Network.Cidr` is the parameter, `Network.Outputs.Cidr` the output); each is owned by the contract."""
        super().__init_subclass__(**kwargs)
        misplaced = [k for k, v in vars(cls).items() if isinstance(v, Out)]
        if misplaced:
            raise ContractError(f"{cls.__name__} declares outputs {misplaced} beside its parameters: put them in its `class Outputs:`")
        for row in vars(vars(cls).get("Outputs", object)).values():
            if isinstance(row, Out):
                object.__setattr__(row, "owner", cls)

    @classmethod
    def owns(cls, row: Param | ParamFamily | Out) -> bool:
        """Whether the row is this contract's: declared by it, a base contract, one of its variants, or borrowed into it."""
        owners = [*cls.__mro__, *cls.variants]
        return row.owner in owners or any(row is r for r in (*cls.params(), *cls.outputs()))

    @classmethod
    def declared(cls, shape: S) -> list[Param]:
        """The concrete parameters this shape of template has."""
        return [c for p in cls.params() if p.when(shape) for c in p.concrete(shape)]


def _names(cls: type) -> list[str]:
    seen: dict[str, None] = {}
    for klass in reversed(cls.__mro__):
        seen.update(dict.fromkeys(k for k in vars(klass) if not k.startswith("_")))
    return list(seen)


class Declared:
    """The parameters one template declared: `p[Network.Cidr]` is a Ref, or a ContractError if not declared."""

    def __init__(self, contract: type[Contract[Any]], names: set[str]) -> None:
        self.contract = contract
        self.names = names

    def __getitem__(self, param: Param) -> Ref:
        if not self.contract.owns(param):
            owner = param.owner.__name__ if param.owner else "no contract"
            raise ContractError(f"{param.name} is {owner}'s parameter, not {self.contract.__name__}'s: a {self.contract.__name__} template cannot refer to it")
        if param.name not in self.names:
            raise ContractError(f"{self.contract.__name__} does not declare {param.name} for this shape")
        return Ref(param.name)

    def __contains__(self, param: Param) -> bool:
        return param.name in self.names


def declare(t: Template, contract: type[Contract[S]], shape: S) -> Declared:
    """Add the contract's parameters for this shape to `t`."""
    params = contract.declared(shape)
    for p in params:
        t.add_parameter(p.render(shape))
    return Declared(contract, {p.name for p in params})


def _named(row: Any, owner: type, attribute: str) -> None:
    """A row takes its attribute's name (an output's owner is then set to its contract by Contract.__init_subclass__)."""
    if not row.name:
        object.__setattr__(row, "name", attribute)
        object.__setattr__(row, "owner", owner)


def model_of(shape: Shape) -> type:
    """The model class whose fields a shape's settings are (a wrapper of a StackConfig names it as `model`)."""
    return getattr(shape, "model", None) or type(shape)


def cfn_value(value: Any) -> Any:
    """A model value as a CloudFormation parameter value: booleans as "true"/"false"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _is_bool(shape: Shape, name: str) -> bool:
    return isinstance(getattr(shape, name, None), bool)
