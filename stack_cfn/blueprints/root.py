"""The root stack: nests every module instance it holds (registry.py), returns the root contract's outputs.

Everything here is derived from the contracts: the root declares the nested
modules' user-facing parameters, passes each child what its rows say (its own
parameter, another module's output, an instance's literal, an output of a named
instance of another module, or its own name), and returns its outputs
contract's rows (registry.ROOT_CONTRACT). A row wired to an output
that no nested stack declares is a ContractError at build time.

Nested TemplateURLs are file names relative to the root template, the form
`aws cloudformation package` and `stack-cfn upload` rewrite to S3 URLs.
Exports: every layer exports its outputs as `<root stack name>-<Output>`
(the root passes its name as ExportPrefix); the root itself exports the two
outputs no layer has, Region and Environment.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from troposphere import AWSHelperFn, FindInMap, GetAtt, Join, Parameter, Ref, Region, Select, Split, StackName, Template, cloudformation

from stack_cfn.blueprints.common import emit, new_template
from stack_cfn.blueprints.contract import Assigned, Contract, ContractError, FromConfig, FromModule, Out, Param, PerService, RootName, Shape, Wired

REGION_NETWORK = "RegionNetwork"


@dataclass(frozen=True)
class Nested:
    """A child template, the contract it was built from, the shape it was built for, and its file."""

    contract: type[Contract[Any]]
    logical_id: str
    template: Template
    filename: str
    shape: Shape
    assigned: Mapping[str, Any] = dataclasses.field(default_factory=dict)  # Assigned parameters' values (a shared ALB seat)
    name: str = ""  # the instance's name, which FromModule rows of other modules pick it by


@dataclass(frozen=True)
class Tree:
    """The nested stacks of one root, to resolve wiring against."""

    nested: Sequence[Nested]  # every module instance the root nests, before its placed units
    by_region: frozenset[str]
    outputs: type[Contract[Any]]  # the root's own outputs contract

    def produced(self, out: Out) -> Any:
        """The value of a declared output, as the root sees it."""
        if out.owner is self.outputs:
            return out.source() if out.source else Ref(out.name)
        producer = next((n for n in self.nested if n.contract is out.owner and out.when(n.shape)), None)
        if producer is None:
            owner = out.owner.__name__ if out.owner else "?"
            raise ContractError(f"{owner}.{out.name} is wired into a template, but no nested stack of this root produces it")
        return GetAtt(producer.logical_id, f"Outputs.{out.name}")

    def from_module(self, supply: FromModule, child: Nested) -> Any:
        """The output of the instance the child names: `GetAtt(<that instance>, Outputs.<output>)`."""
        name, out = supply.instance(child.shape), supply.output
        producer = next((n for n in self.nested if n.contract is out.owner and n.name == name), None)
        if producer is None:
            owner = out.owner.__name__ if out.owner else "?"
            raise ContractError(f"{child.logical_id} takes {out.name} of {owner} {name}, but no nested stack of this root is that {owner}")
        return GetAtt(producer.logical_id, f"Outputs.{out.name}")

    def supply(self, param: Param, child: Nested) -> Any:
        s = param.supply
        if isinstance(s, RootName):
            return StackName
        if isinstance(s, PerService):
            return param.value_for(child.shape)
        if isinstance(s, Wired):
            value = self.produced(s.output(child.shape))
            return Select(0, Split(",", value)) if s.first_item else value
        if isinstance(s, FromModule):
            return self.from_module(s, child)
        if isinstance(s, Assigned):
            return child.assigned[param.name]
        if param.name in self.by_region:
            return FindInMap(REGION_NETWORK, Region, param.name)
        return Ref(param.name)


def root_parameters(t: Template, layers: Sequence[Nested], by_region: frozenset[str]) -> None:
    """The layers' user-facing parameters, declared once in the root with the layers' own defaults."""
    declared: dict[str, dict[str, Any]] = {}
    for child in layers:
        for param in child.contract.declared(child.shape):
            if not isinstance(param.supply, FromConfig) or param.name in by_region:
                continue
            body = param.render(child.shape).to_dict()
            if body["Type"].startswith("AWS::SSM::Parameter::Value<"):
                # The root passes the parameter's *name* on; the child resolves it.
                # Declared with the SSM type here, Ref would hand the child the
                # resolved AMI id, which the child would then look up as a name.
                body["Type"] = "String"
            if declared.setdefault(param.name, body) != body:
                raise ContractError(f"layers disagree on parameter {param.name}")
    for name, body in declared.items():
        t.add_parameter(Parameter(name, **body))


def build_root(*, cfg: Shape, nested: Sequence[Nested], placed: Sequence[Nested] = (), outputs: type[Contract[Any]],
               region_network: Mapping[str, Mapping[str, str]] | None = None, description: str = "") -> Template:
    """The root template: `nested` (the modules nested in every root: layers, data modules), then the `placed` units
    the placement put in the root; `outputs` is the root's outputs contract. With `region_network` (region -> network
    parameters, for a StackSet), those parameters come from that mapping by AWS::Region instead of the root's own parameters."""
    t = new_template(description)
    # cfn-lint's W3002 warns of local TemplateURLs: they are local on purpose, for `aws cloudformation package` and `stack-cfn upload`.
    t.set_metadata({"cfn-lint": {"config": {"ignore_checks": ["W3002"]}}})
    by_region: frozenset[str] = frozenset()
    if region_network:
        t.add_mapping(REGION_NETWORK, {region: dict(values) for region, values in region_network.items()})
        by_region = frozenset(next(iter(region_network.values())))
    tree = Tree(nested, by_region, outputs)
    root_parameters(t, nested, by_region)
    for child in (*nested, *placed):
        params = {p.name: tree.supply(p, child) for p in child.contract.declared(child.shape)}
        t.add_resource(cloudformation.Stack(child.logical_id, TemplateURL=child.filename, Parameters=dict(sorted(params.items()))))
    for out in (o for o in outputs.outputs() if o.when(cfg)):
        source = out.source() if out.source else None
        if isinstance(source, Out):
            emit(t, out, tree.produced(source))
        else:
            emit(t, out, source if isinstance(source, AWSHelperFn) else Ref(out.name), export=Join("-", [StackName, out.name]))
    return t


def canonical_json(t: Template) -> str:
    """Deterministic JSON: sorted keys, one-space indent (the 3-AZ network stays under the 51,200-byte TemplateBody limit), trailing newline."""
    return json.dumps(t.to_dict(), indent=1, sort_keys=True) + "\n"
