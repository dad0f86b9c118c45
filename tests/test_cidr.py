"""The seed's address plan, for any allowed VPC size and 2-4 AZs."""

from __future__ import annotations

import ipaddress
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stack_cfn.errors import ConfigError
from stack_cfn.model.cidr import parse_vpc_cidr, plan_subnets, shift_for_region


def test_seed_layout_for_four_azs() -> None:
    plan = plan_subnets(ipaddress.ip_network("10.30.0.0/16"), 4)
    assert [str(n) for n in plan.internal] == ["10.30.0.0/19", "10.30.64.0/19", "10.30.128.0/19", "10.30.192.0/19"]
    assert [str(n) for n in plan.external] == ["10.30.32.0/20", "10.30.96.0/20", "10.30.160.0/20", "10.30.224.0/20"]


def test_region_index_shifts_the_second_octet() -> None:
    plan = plan_subnets(ipaddress.ip_network("10.30.0.0/16"), 3)
    shifted = shift_for_region(plan, 2)
    assert str(shifted.vpc) == "10.32.0.0/16"
    assert str(shifted.internal[1]) == "10.32.64.0/19"
    assert str(shifted.external[2]) == "10.32.160.0/20"


def test_shift_out_of_private_space_is_refused() -> None:
    plan = plan_subnets(ipaddress.ip_network("10.255.0.0/16"), 3)
    with pytest.raises(ConfigError, match="regions"):
        shift_for_region(plan, 1)


@st.composite
def private_vpcs(draw: st.DrawFn) -> ipaddress.IPv4Network:
    base = ipaddress.ip_network(draw(st.sampled_from(["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"])))
    prefix = draw(st.integers(max(16, base.prefixlen), 24))
    index = draw(st.integers(0, 2 ** (prefix - base.prefixlen) - 1))
    return ipaddress.ip_network((int(base.network_address) + index * 2 ** (32 - prefix), prefix))


@given(vpc=private_vpcs(), azs=st.integers(2, 4))
def test_plan_properties(vpc: ipaddress.IPv4Network, azs: int) -> None:
    vpc = parse_vpc_cidr(str(vpc))
    plan = plan_subnets(vpc, azs)
    subnets = [*plan.internal, *plan.external]
    assert len(plan.internal) == len(plan.external) == azs
    assert all(s.subnet_of(vpc) for s in subnets)
    assert not any(a.overlaps(b) for a, b in itertools.combinations(subnets, 2))
    assert all(s.prefixlen == vpc.prefixlen + 3 for s in plan.internal)
    assert all(s.prefixlen == vpc.prefixlen + 4 for s in plan.external)
    assert all(s.prefixlen <= 28 for s in subnets)
