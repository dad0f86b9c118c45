"""EC2 capacity that costs less: several instance types, Spot, and Graviton (arm64), typed and checked once.

- `ecs_instance_types: [m7i.large, m6i.large]`: the Auto Scaling group gets a mixed-instances policy whose
  overrides are these types, in order (the first is preferred for On-Demand: OnDemandAllocationStrategy
  `prioritized`). `ecs_instance_type` (one type) stays valid and means a list of one.
- `ecs_spot: {on_demand_base: N, on_demand_percent: P}`: the first N instances On-Demand, then P percent of
  the rest, the others Spot (`price-capacity-optimized`), with Capacity Rebalancing.
- `ecs_architecture: arm64`: the arm64 ECS-optimized image, and every type must be a Graviton type.

AWS's rules these rely on are in model/aws_facts.py (MixedInstancesPolicy and Spot); the architecture of a
type is derived from its name here (`architecture_of`), checked against EC2's own data in tests/test_capacity.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from stack_cfn.errors import ConfigError
from stack_cfn.model import aws_facts as F
from stack_cfn.model import offerings
from stack_cfn.model import rules as R
from stack_cfn.model.checks import Check, check_fields, run_checks, setting

Architecture = Literal["x86_64", "arm64"]
ARCHITECTURES: tuple[Architecture, ...] = ("x86_64", "arm64")
ARCHITECTURE = R.OneOf(ARCHITECTURES, "an ECS container-instance architecture", "use x86_64 (Intel and AMD) or arm64 (AWS Graviton)")

# The family's class, its generation and the attribute letters after it: m7gd.large -> m, 7, gd.
ON_DEMAND_PERCENT = R.Range(F.ON_DEMAND_PERCENT_MIN, F.ON_DEMAND_PERCENT_MAX, "use a percent from 0 to 99 (100 would be On-Demand only)")

_FAMILY = re.compile(r"([a-z]+)(\d+)([a-z]*)")


def architecture_of(instance_type: str) -> str:
    """x86_64 or arm64 for an EC2 instance type, from its name; "mac" for a Mac type (never an ECS host).

    AWS's naming convention ("Amazon EC2 instance type naming conventions", EC2 Instance Types guide): the
    letters after the generation are attributes, and "g" is "AWS Graviton processors" (m6g, m7gd, c7gn, t4g,
    r8g, x2gd, im4gn, is4gen, g5g); a1 is the first Graviton generation, named before that convention.
    tests/test_capacity.py checks this rule against EC2's DescribeInstanceTypes data as moto ships it."""
    family = instance_type.split(".", 1)[0]
    if family.startswith("mac"):
        return "mac"
    match = _FAMILY.match(family)
    if family == "a1" or (match is not None and "g" in match.group(3)):
        return "arm64"
    return "x86_64"


@dataclass(frozen=True)
class SpotConfig:
    """How much of the group is On-Demand; the rest is Spot (InstancesDistribution of the mixed-instances policy)."""

    on_demand_base: int = setting(0, rule=R.INSTANCE_COUNT, doc="the first instances that are always On-Demand (OnDemandBaseCapacity)")
    on_demand_percent: int = setting(0, rule=ON_DEMAND_PERCENT,
                                     doc="percent On-Demand above on_demand_base, 0-99; the rest Spot (OnDemandPercentageAboveBaseCapacity)")

    def __post_init__(self) -> None:
        check_fields(self, "")
        run_checks(self, SPOT_CHECKS)


SPOT_CHECKS: tuple[Check[SpotConfig], ...] = (
    # 100 is "only On-Demand Instances are used" (InstancesDistribution, OnDemandPercentageAboveBaseCapacity), and
    # Capacity Rebalancing then has no Spot Instance to replace: ecs_spot would mean nothing.
    Check("some Spot", "on_demand_percent", lambda s: s.on_demand_percent == F.ON_DEMAND_PERCENT_MAX,
          "100 launches no Spot instance (OnDemandPercentageAboveBaseCapacity 100 is On-Demand only)",
          "lower it (e.g. 20 for 20% On-Demand above the base), or remove ecs_spot"),
)


def is_mixed(types: tuple[str, ...], spot: SpotConfig | None) -> bool:
    """Whether the group needs a mixed-instances policy: more than one type, or Spot."""
    return len(types) > 1 or spot is not None


def _both_given(cfg: Any) -> bool:
    """ecs_instance_type changed from its default beside a list that does not start with it: which one is meant?"""
    default = cfg.__dataclass_fields__["ecs_instance_type"].default
    return bool(cfg.ecs_instance_types) and cfg.ecs_instance_type not in (default, cfg.ecs_instance_types[0])


def _repeat(values: tuple[str, ...]) -> str | None:
    return next((v for i, v in enumerate(values) if v in values[:i]), None)


CAPACITY_CHECKS: tuple[Check[Any], ...] = (
    Check("one way to give the instance types", "ecs_instance_type", _both_given,
          lambda c: f"is {c.ecs_instance_type}, but ecs_instance_types is given too (give the types one way)",
          lambda c: f"remove ecs_instance_type, or put {c.ecs_instance_type} first in ecs_instance_types"),
    Check("types are distinct", "ecs_instance_types", lambda c: _repeat(c.ecs_instance_types),
          lambda c: f"lists {_repeat(c.ecs_instance_types)} twice", "list each instance type once"),
    Check("at most 40 types", "ecs_instance_types", lambda c: len(c.ecs_instance_types) > F.MAX_INSTANCE_TYPES,
          lambda c: f"lists {len(c.ecs_instance_types)} types, over the {F.MAX_INSTANCE_TYPES} an Auto Scaling group takes "
                    "(EC2 Auto Scaling user guide, multiple instance types)", f"keep {F.MAX_INSTANCE_TYPES} or fewer"),
    Check("some Spot within the group", "ecs_spot.on_demand_base", lambda c: c.ecs_spot and c.ecs_spot.on_demand_base >= c.ecs_max_size,
          lambda c: f"{c.ecs_spot.on_demand_base} On-Demand instances fill the whole group (ecs_max_size {c.ecs_max_size}), so none would be Spot",
          lambda c: f"set it below {c.ecs_max_size}, or remove ecs_spot"),
)


def check_instance_types(cfg: Any, region: str) -> None:
    """Each instance type offered in `region` and of the stack's architecture (naming one that is, where not)."""
    listed = bool(cfg.ecs_instance_types)
    for i, instance_type in enumerate(cfg.instance_types):
        field = f"ecs_instance_types[{i}]" if listed else "ecs_instance_type"
        offerings.check_ec2_type(field, instance_type, region)
        _check_architecture(field, instance_type, cfg.ecs_architecture, region)


def _check_architecture(field: str, instance_type: str, wanted: str, region: str) -> None:
    found = architecture_of(instance_type)
    if found == wanted:
        return
    if found == "mac":
        raise ConfigError(field, f"{instance_type} is a Mac instance type; ECS container instances here run Linux on x86_64 or arm64",
                          "use a Linux type such as m7i.large (x86_64) or m7g.large (arm64)")
    offered = offerings.ec2_types(region) if offerings.has_data(region) else frozenset().union(*offerings.ec2_offerings().values())
    near = offerings.alternative(instance_type, [t for t in offered if architecture_of(t) == wanted])
    instead = f"use {near} ({wanted})" if near else f"use an {wanted} type"
    graviton = " (AWS Graviton)" if found == "arm64" else ""
    raise ConfigError(field, f"{instance_type} is an {found} type{graviton}, but ecs_architecture is {wanted} (every type must share it)",
                      f"{instead}, or set ecs_architecture: {found} with {found} types only")
