"""Cheaper networking (issue 19 item 8): one NAT gateway for every zone, and an S3 gateway endpoint, in one generic network.json."""

from __future__ import annotations

import json

from stack_cfn.blueprints.compiler import compile_generic, compile_stack
from stack_cfn.model.config import StackConfig


def _network(**kw: object) -> dict:
    return json.loads(compile_stack(StackConfig(name="n", environment="prod", **kw)).files["network.json"])  # type: ignore[arg-type]


def test_the_settings_become_parameter_defaults_of_the_same_template() -> None:
    default, cheap = _network(), _network(nat_gateways="one", s3_endpoint=False)
    assert (default["Parameters"]["NatGateways"]["Default"], default["Parameters"]["S3Endpoint"]["Default"]) == ("per_zone", "true")
    assert (cheap["Parameters"]["NatGateways"]["Default"], cheap["Parameters"]["S3Endpoint"]["Default"]) == ("one", "false")
    assert default["Parameters"]["NatGateways"]["AllowedValues"] == ["per_zone", "one"]
    assert set(default["Resources"]) == set(cheap["Resources"]), "one structure; conditions choose"
    generic = json.loads(compile_generic().files["network.json"])
    assert {"NatGateways", "S3Endpoint"} <= set(generic["Parameters"])


def test_existing_logical_ids_stay_and_zone_1_gateway_serves_every_zone_when_one() -> None:
    t = _network()
    r = t["Resources"]
    assert {f"NatGateway{i}" for i in (1, 2, 3)} <= set(r) and {f"NatEip{i}" for i in (1, 2, 3)} <= set(r)
    assert r["NatGateway1"]["Condition"] == "UseNatGateways" and r["NatGateway2"]["Condition"] == "NatGatewayPerZone"
    route = r["InternalDefaultRoute2"]["Properties"]["NatGatewayId"]
    assert route == {"Fn::If": ["UseNatGateways", {"Fn::If": ["OneNatGateway", {"Ref": "NatGateway1"}, {"Ref": "NatGateway2"}]}, {"Ref": "AWS::NoValue"}]}
    assert {"OneNatGateway", "NatGatewayPerZone"} <= set(t["Conditions"])


def test_the_s3_endpoint_is_a_gateway_on_the_internal_route_tables_only() -> None:
    endpoint = _network()["Resources"]["S3GatewayEndpoint"]
    assert endpoint["Condition"] == "S3EndpointOn"
    props = endpoint["Properties"]
    assert props["VpcEndpointType"] == "Gateway" and props["ServiceName"] == {"Fn::Sub": "com.amazonaws.${AWS::Region}.s3"}
    assert props["RouteTableIds"] == [{"Ref": f"InternalRouteTable{i}"} for i in (1, 2, 3)]


def test_one_gateway_and_nat_instances_are_refused_in_the_template_too() -> None:
    rule = _network()["Rules"]["OneNatGatewayNeedsGateways"]
    assert rule["RuleCondition"] == {"Fn::Equals": [{"Ref": "NatGateways"}, "one"]}
