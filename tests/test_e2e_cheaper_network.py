"""Cheaper networking on the local AWS (issue 19 item 8): one NAT gateway for every zone, and the S3 gateway endpoint."""

from __future__ import annotations

import pytest

from tests.test_e2e_network import create, network_body

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def one_gateway_network(local_aws):  # noqa: ANN001, ANN201
    _, target = local_aws
    return target, create(target, "e2e-net-onegw", network_body(cidr="10.62.0.0/16", nat_gateways="one"))


def _default_routes(ec2, out: dict[str, str]) -> list[dict]:  # noqa: ANN001
    tables = ec2.describe_route_tables(RouteTableIds=out["InternalRouteTables"].split(","))["RouteTables"]
    return [next(r for r in t["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0") for t in tables]


def test_one_nat_gateway_serves_every_zone(one_gateway_network) -> None:  # noqa: ANN001
    target, out = one_gateway_network
    ec2 = target.client("ec2")
    gateways = ec2.describe_nat_gateways(Filters=[{"Name": "vpc-id", "Values": [out["VpcId"]]}])["NatGateways"]
    assert [g["SubnetId"] for g in gateways] == out["ExternalSubnets"].split(",")[:1], "one gateway, in zone 1's external subnet"
    routes = _default_routes(ec2, out)
    assert len(routes) == 3 and {r.get("NatGatewayId") for r in routes} == {gateways[0]["NatGatewayId"]}
    assert len(out["InternalNatIps"].split(",")) == 1, "internal traffic leaves from one address"


def test_the_s3_gateway_endpoint_is_on_the_internal_route_tables(one_gateway_network) -> None:  # noqa: ANN001
    target, out = one_gateway_network
    endpoints = target.client("ec2").describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [out["VpcId"]]}])["VpcEndpoints"]
    assert [(e["VpcEndpointType"], e["ServiceName"]) for e in endpoints] == [("Gateway", f"com.amazonaws.{target.region}.s3")]
    assert sorted(endpoints[0]["RouteTableIds"]) == sorted(out["InternalRouteTables"].split(","))


def test_the_s3_endpoint_can_be_turned_off(local_aws) -> None:  # noqa: ANN001
    _, target = local_aws
    out = create(target, "e2e-net-nos3", network_body(cidr="10.63.0.0/16", s3_endpoint=False))
    ec2 = target.client("ec2")
    assert ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [out["VpcId"]]}])["VpcEndpoints"] == []
    gateways = ec2.describe_nat_gateways(Filters=[{"Name": "vpc-id", "Values": [out["VpcId"]]}])["NatGateways"]
    assert len(gateways) == 3, "per_zone (the default): a gateway in every zone"
