"""The seed's address plan, computed with ipaddress.

A VPC is cut into four equal blocks, one per availability zone (the fourth is
spare with three AZs). Inside each block the first half is the internal subnet
and the next quarter the external one; the last quarter stays spare for growth:

    10.30.0.0/16 -> 10.30.0.0/18 (AZ A) -> 10.30.0.0/19 internal
                                           10.30.32.0/20 external
                                           10.30.48.0/20 spare
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from stack_cfn.errors import ConfigError

Network = ipaddress.IPv4Network

# A VPC may be /16 (AWS's largest) down to /24, whose external subnets are /28,
# the smallest subnet AWS allows.
LARGEST_VPC_PREFIX = 16
SMALLEST_VPC_PREFIX = 24
SMALLEST_SUBNET_PREFIX = 28
MIN_AZS = 2
MAX_AZS = 4

PRIVATE_RANGES = tuple(
    ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
)


@dataclass(frozen=True)
class SubnetPlan:
    """Internal and external subnets, one of each per availability zone."""

    vpc: Network
    internal: tuple[Network, ...]
    external: tuple[Network, ...]

    @property
    def az_count(self) -> int:
        return len(self.internal)


def parse_vpc_cidr(value: object, field: str = "cidr") -> Network:
    """Parse a VPC CIDR and check it is private and of a size the plan handles."""
    net = _parse_network(value, field)
    if not any(net.subnet_of(r) for r in PRIVATE_RANGES):
        raise ConfigError(
            field,
            f"{net} is not a private (RFC 1918) range",
            "use one inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16, such as 10.30.0.0/16",
        )
    if not LARGEST_VPC_PREFIX <= net.prefixlen <= SMALLEST_VPC_PREFIX:
        raise ConfigError(
            field,
            f"{net} is a /{net.prefixlen}; a VPC must be /{LARGEST_VPC_PREFIX} to /{SMALLEST_VPC_PREFIX}",
            "use a prefix length in that range, such as 10.30.0.0/16",
        )
    return net


def plan_subnets(vpc: Network, az_count: int) -> SubnetPlan:
    """Derive the seed's layout for 2 to 4 availability zones."""
    if not MIN_AZS <= az_count <= MAX_AZS:
        raise ConfigError(
            "az_count",
            f"{az_count} availability zones cannot be planned",
            f"use {MIN_AZS} to {MAX_AZS}",
        )
    blocks = list(vpc.subnets(prefixlen_diff=2))[:az_count]
    internal = tuple(next(b.subnets(prefixlen_diff=1)) for b in blocks)
    external = tuple(list(b.subnets(prefixlen_diff=2))[2] for b in blocks)
    return SubnetPlan(vpc=vpc, internal=internal, external=external)


def explicit_plan(
    vpc: Network, internal: list[object], external: list[object], az_count: int
) -> SubnetPlan:
    """Check subnet lists a user gave: they must fit the VPC and not overlap."""
    for field, values in (("internal_subnets", internal), ("external_subnets", external)):
        if len(values) != az_count:
            raise ConfigError(
                field,
                f"has {len(values)} entries but there are {az_count} availability zones",
                "give one subnet per availability zone",
            )
    parsed: list[tuple[str, Network]] = []
    for field, values in (("internal_subnets", internal), ("external_subnets", external)):
        for i, value in enumerate(values):
            where = f"{field}[{i}]"
            net = _parse_network(value, where)
            if not net.subnet_of(vpc):
                raise ConfigError(where, f"{net} is outside the VPC {vpc}", "pick a range inside it")
            if net.prefixlen > SMALLEST_SUBNET_PREFIX:
                raise ConfigError(
                    where,
                    f"{net} is smaller than a /{SMALLEST_SUBNET_PREFIX}",
                    f"AWS subnets are /{SMALLEST_SUBNET_PREFIX} or larger",
                )
            for other_where, other in parsed:
                if net.overlaps(other):
                    raise ConfigError(
                        where, f"{net} overlaps {other_where} ({other})", "make the subnets disjoint"
                    )
            parsed.append((where, net))
    n = len(internal)
    nets = [p[1] for p in parsed]
    return SubnetPlan(vpc=vpc, internal=tuple(nets[:n]), external=tuple(nets[n:]))


def shift_for_region(plan: SubnetPlan, index: int) -> SubnetPlan:
    """Move a plan by `index` VPC-sized steps: 10.30/16 -> 10.31/16 -> ... (seed's multi-region rule)."""
    if index == 0:
        return plan
    step = plan.vpc.num_addresses * index

    def move(net: Network) -> Network:
        return ipaddress.IPv4Network(f"{net.network_address + step}/{net.prefixlen}")

    try:
        vpc = move(plan.vpc)
    except ValueError as exc:
        raise ConfigError(
            "regions", f"region index {index} shifts {plan.vpc} out of the address space", "use fewer regions"
        ) from exc
    if not any(vpc.subnet_of(r) for r in PRIVATE_RANGES):
        raise ConfigError(
            "regions",
            f"region index {index} shifts {plan.vpc} to {vpc}, which is not private",
            "start from a lower CIDR or use fewer regions",
        )
    return SubnetPlan(
        vpc=vpc,
        internal=tuple(move(n) for n in plan.internal),
        external=tuple(move(n) for n in plan.external),
    )


def _parse_network(value: object, field: str) -> Network:
    if not isinstance(value, str):
        raise ConfigError(field, f"expected a CIDR string, got {value!r}", "write it like 10.30.0.0/16")
    try:
        net = ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        raise ConfigError(
            field, f"{value!r} does not parse as a CIDR ({exc})", "write it like 10.30.0.0/16"
        ) from None
    if not isinstance(net, ipaddress.IPv4Network):
        raise ConfigError(field, f"{value} is not IPv4", "use an IPv4 CIDR such as 10.30.0.0/16")
    return net


def parse_ipv4_any(value: object, field: str) -> Network:
    """Parse any IPv4 CIDR (an allowed-source range, say)."""
    return _parse_network(value, field)
