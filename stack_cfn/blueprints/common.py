"""Small pieces every template builder uses: parameters, exported outputs, tags.

Logical IDs, parameter names and export names made here are public API: a
change replaces live resources or breaks importing stacks.
"""

from __future__ import annotations

from typing import Any

from troposphere import (
    AWSHelperFn,
    Equals,
    If,
    Join,
    Not,
    Output,
    Parameter,
    Ref,
    StackName,
    Tags,
    Template,
)
from troposphere import Export as CfnExport

EXPORT_PREFIX = "ExportPrefix"
HAS_EXPORT_PREFIX = "HasExportPrefix"
TRUE_FALSE = ["true", "false"]


def new_template(description: str) -> Template:
    t = Template(Description=description)
    t.set_version("2010-09-09")
    return t


def add_param(t: Template, name: str, default: Any, description: str, type_: str = "String", **kw: Any) -> Ref:
    """Add a parameter and return a Ref to it."""
    p = Parameter(name, Type=type_, Description=description, **kw)
    if default is not None:
        p.Default = default
    t.add_parameter(p)
    return Ref(p)


def add_bool_param(t: Template, name: str, default: bool, description: str) -> Ref:
    return add_param(t, name, "true" if default else "false", description, AllowedValues=TRUE_FALSE)


def is_true(param: str) -> Equals:
    return Equals(Ref(param), "true")


def add_export_prefix(t: Template) -> None:
    """Exports are named `<ExportPrefix>-<Output>`; the prefix defaults to the stack's own name.

    The root stack passes its name, so every layer's export reads `<root>-<Output>`.
    """
    add_param(
        t,
        EXPORT_PREFIX,
        "",
        "Prefix of this stack's export names (<prefix>-<Output>); empty means this stack's name",
        AllowedPattern=r"^$|^[A-Za-z][A-Za-z0-9-]*$",
        MaxLength=128,
    )
    t.add_condition(HAS_EXPORT_PREFIX, Not(Equals(Ref(EXPORT_PREFIX), "")))


def export_name(output: str) -> AWSHelperFn:
    return Join("-", [If(HAS_EXPORT_PREFIX, Ref(EXPORT_PREFIX), StackName), output])


def add_output(t: Template, name: str, value: Any, description: str, export: bool | AWSHelperFn = True) -> None:
    """An output, exported as `<ExportPrefix>-<name>` (True), under a given name, or not (False)."""
    out = Output(name, Value=value, Description=description)
    if isinstance(export, AWSHelperFn):
        out.Export = CfnExport(export)
    elif export:
        out.Export = CfnExport(export_name(name))
    t.add_output(out)


def tags(name: Any, environment: Any, **extra: Any) -> Tags:
    return Tags(Name=name, Environment=environment, **extra)


def join_name(*parts: Any) -> Join:
    """`<a>-<b>-...`, for names built from parameters."""
    return Join("-", list(parts))


NAME_PATTERN = r"^[a-z][a-z0-9-]*$"


def add_name_params(t: Template, name: str, environment: str) -> tuple[Ref, Ref]:
    """`Name` and `Environment`, declared identically by every layer."""
    return (
        add_param(t, "Name", name, "Stack name, used in resource names and tags", AllowedPattern=NAME_PATTERN, MaxLength=32),
        add_param(t, "Environment", environment, "Environment, e.g. prod", AllowedPattern=NAME_PATTERN, MaxLength=32),
    )


def add_key_param(t: Template, key_name: str) -> Ref:
    return add_param(t, "KeyName", key_name, "EC2 key pair for SSH to the instances", "AWS::EC2::KeyPair::KeyName")


def all_traffic(**target: Any) -> Any:
    """An egress rule for every protocol and port (CidrIp=...)."""
    from troposphere.ec2 import SecurityGroupRule

    return SecurityGroupRule(IpProtocol="-1", **target)


def add_ingress_all(t: Template, logical_id: str, group: Any, description: str, **source: Any) -> None:
    """Admit every protocol and port from `source` (CidrIp=... or SourceSecurityGroupId=...).

    A resource of its own rather than an inline rule: no dependency cycles
    between groups, and one rule changes without touching the others.
    """
    from troposphere.ec2 import SecurityGroupIngress

    t.add_resource(SecurityGroupIngress(logical_id, GroupId=group, IpProtocol="-1", Description=description, **source))
