"""Small pieces every template builder uses: templates, exported outputs, tags, security-group rules.

Logical IDs and export names made here are public API: a change replaces
live resources or breaks importing stacks.
"""

from __future__ import annotations

from typing import Any

from troposphere import AWSHelperFn, Equals, If, Join, Not, Output, Ref, StackName, Tags, Template
from troposphere import Export as CfnExport
from troposphere.ec2 import SecurityGroupIngress, SecurityGroupRule

from stack_cfn.blueprints.contract import Out
from stack_cfn.blueprints.layer_contract import Layer

HAS_EXPORT_PREFIX = "HasExportPrefix"


def new_template(description: str) -> Template:
    t = Template(Description=description)
    t.set_version("2010-09-09")
    return t


def is_true(param: Any) -> Equals:
    """A condition on a "true"/"false" parameter (a Ref)."""
    return Equals(param, "true")


def add_export_prefix_condition(t: Template) -> None:
    """Exports are named `<ExportPrefix>-<Output>`; the prefix defaults to the stack's own name.

    The root stack passes its name, so every layer's export reads `<root>-<Output>`.
    """
    t.add_condition(HAS_EXPORT_PREFIX, Not(Equals(Ref(Layer.ExportPrefix.name), "")))


def export_name(output: str) -> AWSHelperFn:
    return Join("-", [If(HAS_EXPORT_PREFIX, Ref(Layer.ExportPrefix.name), StackName), output])


def emit(t: Template, out: Out, value: Any, export: AWSHelperFn | None = None) -> None:
    """The declared output `out`: exported as `<ExportPrefix>-<name>` when the row says so, or under `export`."""
    o = Output(out.name, Value=value, Description=out.description)
    if export is not None:
        o.Export = CfnExport(export)
    elif out.export:
        o.Export = CfnExport(export_name(out.name))
    t.add_output(o)


def tags(name: Any, environment: Any, **extra: Any) -> Tags:
    return Tags(Name=name, Environment=environment, **extra)


def all_traffic(**target: Any) -> SecurityGroupRule:
    """An egress rule for every protocol and port (CidrIp=...)."""
    return SecurityGroupRule(IpProtocol="-1", **target)


def add_ingress_all(t: Template, logical_id: str, group: Any, description: str, **source: Any) -> None:
    """Admit every protocol and port from `source` (CidrIp=... or SourceSecurityGroupId=...).

    A resource of its own rather than an inline rule: no dependency cycles
    between groups, and one rule changes without touching the others.
    """
    t.add_resource(SecurityGroupIngress(logical_id, GroupId=group, IpProtocol="-1", Description=description, **source))
