"""What each region offers: EC2 instance types and RDS DB instance classes per engine, read from the data
cfn-lint ships (no network, no list of our own).

Source: cfn-lint's `data/schemas/extensions/aws_ec2_instance/instancetype_enum.json` and
`aws_rds_dbinstance/dbinstanceclass_enum.json`, which cfn-lint regenerates from the AWS Price List
("Automatically updated using update_specs_from_pricing"): what AWS sells in each region. A type that
no region offers does not exist (for that engine); one that other regions offer is not offered here.
Either way the error names an alternative this region offers.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable
from importlib import resources
from types import MappingProxyType
from typing import Any

from stack_cfn.errors import ConfigError

_EXTENSIONS = "cfnlint.data.schemas.extensions"
_FAMILY = re.compile(r"(?:db\.)?([a-z]+)(\d*)([a-z-]*)\.(.+)")


def _load(package: str, name: str) -> Any:
    return json.loads(resources.files(f"{_EXTENSIONS}.{package}").joinpath(name).read_text(encoding="utf-8"))


@functools.cache
def ec2_offerings() -> MappingProxyType[str, frozenset[str]]:
    """Region -> the EC2 instance types offered there."""
    data = _load("aws_ec2_instance", "instancetype_enum.json")
    return MappingProxyType({r: frozenset(v.get("enum", ())) for r, v in data.items() if isinstance(v, dict) and v.get("enum")})


@functools.cache
def rds_offerings() -> MappingProxyType[tuple[str, str], frozenset[str]]:
    """(region, engine) -> the DB instance classes offered there for that engine (any license model, any version)."""
    data = _load("aws_rds_dbinstance", "dbinstanceclass_enum.json")
    table: dict[tuple[str, str], set[str]] = {}
    for region, body in data.items():
        for block in body.get("allOf", ()) if isinstance(body, dict) else ():
            engine = block.get("if", {}).get("properties", {}).get("Engine", {}).get("const")
            classes = block.get("then", {}).get("properties", {}).get("DBInstanceClass", {}).get("enum", ())
            if engine:
                table.setdefault((region, engine), set()).update(classes)
    return MappingProxyType({k: frozenset(v) for k, v in table.items()})


def ec2_types(region: str) -> frozenset[str]:
    return ec2_offerings().get(region, frozenset())


def rds_classes(region: str, engine: str) -> frozenset[str]:
    return rds_offerings().get((region, engine), frozenset())


def has_data(region: str) -> bool:
    """Whether cfn-lint's data knows the region (a region newer than the installed cfn-lint is not judged)."""
    return region in ec2_offerings()


def alternative(wanted: str, offered: Iterable[str]) -> str | None:
    """The offered type closest to `wanted`: the same size, then the same class (m, t, r ...) and
    attributes (g, i, a ...), then the nearest generation, newer first."""
    match = _FAMILY.fullmatch(wanted)
    if match is None:
        return None
    klass, gen, attrs, size = match.group(1), int(match.group(2) or 0), match.group(3), match.group(4)

    def key(candidate: str) -> tuple[Any, ...]:
        m = _FAMILY.fullmatch(candidate)
        assert m is not None
        g = int(m.group(2) or 0)
        return (m.group(4) != size, m.group(1) != klass, m.group(3) != attrs, abs(g - gen), -g, candidate)

    shaped = [c for c in offered if _FAMILY.fullmatch(c)]
    same_size = [c for c in shaped if c.rsplit(".", 1)[1] == size]
    if same_size:
        return min(same_size, key=key)
    family = wanted.rsplit(".", 1)[0]  # a size not offered: the family's medium or large, else the newest of the class

    def fallback(candidate: str) -> tuple[Any, ...]:
        m = _FAMILY.fullmatch(candidate)
        assert m is not None
        return (candidate.rsplit(".", 1)[0] != family, m.group(4) != "medium", m.group(1) != klass, m.group(3) != attrs,
                -int(m.group(2) or 0), candidate)

    usual = [c for c in shaped if c.rsplit(".", 1)[1] in ("medium", "large")]
    return min(usual, key=fallback) if usual else None


def check_ec2_type(field: str, value: str, region: str | None) -> None:
    """Refuse an instance type the region does not offer (None: that no region offers), naming one it does."""
    if region is not None and value in ec2_types(region):
        return
    anywhere = any(value in types for types in ec2_offerings().values())
    judged = region is not None and has_data(region)
    if anywhere and not judged:
        return
    offered = ec2_types(region) if region is not None and judged else frozenset[str]().union(*ec2_offerings().values())
    near = alternative(value, offered)
    where = f"which {region} offers" if judged else "which EC2 offers"
    hint = f"use {near}, {where}" if near else "use a type EC2 offers"
    if anywhere:
        raise ConfigError(field, f"{value} is not offered in {region}", hint)
    raise ConfigError(field, f"{value} is not an EC2 instance type", hint)


def check_db_class(field: str, value: str, engine: str, region: str) -> None:
    """Refuse a DB instance class the engine does not have in the region, naming one it has."""
    if not has_data(region) or value in rds_classes(region, engine):
        return
    offered = rds_classes(region, engine)
    near = alternative(value, offered)
    hint = f"use {near}, which {engine} offers in {region}" if near else f"use a class {engine} offers in {region}"
    if any(value in classes for (_, e), classes in rds_offerings().items() if e == engine):
        raise ConfigError(field, f"{value} is not offered for {engine} in {region}", hint)
    if any(value in classes for classes in rds_offerings().values()):
        raise ConfigError(field, f"{value} is not an instance class of {engine}", hint)
    raise ConfigError(field, f"{value} is not an RDS instance class", hint)
