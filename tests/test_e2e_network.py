"""The network template deployed to the local AWS, through boto3 and through the aws CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stack_cfn.blueprints.compiler import compile_stack
from stack_cfn.model.config import StackConfig
from stack_cfn.ship.deploy import stack_outputs
from tests.conftest import all_exports, moto_gap, run_aws

pytestmark = pytest.mark.e2e


def network_body(**changes: object) -> str:
    cfg = StackConfig(name="net", environment="test", key_name="k", **changes)  # type: ignore[arg-type]
    return compile_stack(cfg).files["network.json"]


def create(target, name: str, body: str, params: dict[str, str] | None = None) -> dict[str, str]:  # noqa: ANN001
    s3 = target.client("s3")
    s3.create_bucket(Bucket="e2e-network-templates")
    s3.put_object(Bucket="e2e-network-templates", Key=f"{name}.json", Body=body.encode())
    cfn = target.client("cloudformation")
    cfn.create_stack(
        StackName=name,
        TemplateURL=f"https://e2e-network-templates.s3.{target.region}.amazonaws.com/{name}.json",
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in (params or {}).items()],
        Capabilities=["CAPABILITY_IAM"],  # the flow-log role: AWS (and the local AWS) refuse without it
    )
    cfn.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    return stack_outputs(cfn, name)


@pytest.fixture(scope="module")
def gateway_network(local_aws):  # noqa: ANN001
    _, target = local_aws
    return target, create(target, "e2e-net-gw", network_body(cidr="10.60.0.0/16"))


def test_vpc_subnets_and_azs(gateway_network) -> None:  # noqa: ANN001
    target, out = gateway_network
    ec2 = target.client("ec2")
    vpc = ec2.describe_vpcs(VpcIds=[out["VpcId"]])["Vpcs"][0]
    assert vpc["CidrBlock"] == "10.60.0.0/16"
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [out["VpcId"]]}])["Subnets"]
    by_id = {s["SubnetId"]: s for s in subnets}
    internal = [by_id[i] for i in out["InternalSubnets"].split(",")]
    external = [by_id[i] for i in out["ExternalSubnets"].split(",")]
    assert [s["CidrBlock"] for s in internal] == ["10.60.0.0/19", "10.60.64.0/19", "10.60.128.0/19"]
    assert [s["CidrBlock"] for s in external] == ["10.60.32.0/20", "10.60.96.0/20", "10.60.160.0/20"]
    assert [s["AvailabilityZone"] for s in internal] == [s["AvailabilityZone"] for s in external]
    assert len({s["AvailabilityZone"] for s in internal}) == 3
    assert out["AvailabilityZones"].split(",") == [s["AvailabilityZone"] for s in external]
    names = {t["Value"] for s in internal for t in s.get("Tags", []) if t["Key"] == "Name"}
    assert names == {"net-internal-001", "net-internal-002", "net-internal-003"}


def test_internal_subnets_map_no_public_ips(gateway_network) -> None:  # noqa: ANN001
    target, out = gateway_network
    ec2 = target.client("ec2")
    internal = ec2.describe_subnets(SubnetIds=out["InternalSubnets"].split(","))["Subnets"]
    assert not any(s["MapPublicIpOnLaunch"] for s in internal)


@moto_gap("CloudFormation subnets ignore MapPublicIpOnLaunch")
def test_external_subnets_map_public_ips_moto_gap(gateway_network) -> None:  # noqa: ANN001
    target, out = gateway_network
    external = target.client("ec2").describe_subnets(SubnetIds=out["ExternalSubnets"].split(","))["Subnets"]
    assert all(s["MapPublicIpOnLaunch"] for s in external)


def test_one_nat_gateway_per_az_and_routes(gateway_network) -> None:  # noqa: ANN001
    target, out = gateway_network
    ec2 = target.client("ec2")
    gateways = ec2.describe_nat_gateways(Filters=[{"Name": "vpc-id", "Values": [out["VpcId"]]}])["NatGateways"]
    assert sorted(g["SubnetId"] for g in gateways) == sorted(out["ExternalSubnets"].split(","))
    gw_by_subnet = {g["SubnetId"]: g["NatGatewayId"] for g in gateways}
    for table_id, ext_subnet in zip(out["InternalRouteTables"].split(","), out["ExternalSubnets"].split(","), strict=True):
        table = ec2.describe_route_tables(RouteTableIds=[table_id])["RouteTables"][0]
        default = next(r for r in table["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0")
        assert default.get("NatGatewayId") == gw_by_subnet[ext_subnet], "each AZ's traffic leaves through its own AZ's gateway"
    public = ec2.describe_route_tables(RouteTableIds=[out["ExternalRouteTables"]])["RouteTables"][0]
    assert any(r.get("GatewayId", "").startswith("igw-") for r in public["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0")
    assert len(out["InternalNatIps"].split(",")) == 3


def test_security_groups(gateway_network) -> None:  # noqa: ANN001
    target, out = gateway_network
    groups = {g["GroupId"]: g for g in target.client("ec2").describe_security_groups(
        GroupIds=[out["InternalElb"], out["ExternalElb"], out["ExternalSsh"], out["InternalSsh"]])["SecurityGroups"]}
    ports = lambda gid: sorted(p["FromPort"] for p in groups[gid]["IpPermissions"])  # noqa: E731
    assert ports(out["ExternalElb"]) == [80, 443]
    assert ports(out["ExternalSsh"]) == [], "no SSH from anywhere without ssh_cidr"
    ssh = groups[out["InternalSsh"]]["IpPermissions"][0]
    assert ssh["UserIdGroupPairs"][0]["GroupId"] == out["ExternalSsh"]


def test_private_zone_and_log_bucket(gateway_network) -> None:  # noqa: ANN001
    target, out = gateway_network
    zone = target.client("route53").get_hosted_zone(Id=out["ZoneId"])
    assert zone["HostedZone"]["Name"].rstrip(".") == "stack.local"
    assert out["DomainName"] == "stack.local"
    target.client("s3").head_bucket(Bucket=out["LogBucketId"])
    exports = all_exports(target.client("cloudformation"))
    assert exports["e2e-net-gw-VpcId"] == out["VpcId"]


@moto_gap("a hosted zone created by CloudFormation with VPCs reports PrivateZone false and lists no VPCs")
def test_zone_is_private_and_tied_to_the_vpc(gateway_network) -> None:  # noqa: ANN001
    target, out = gateway_network
    zone = target.client("route53").get_hosted_zone(Id=out["ZoneId"])
    assert zone["HostedZone"]["Config"].get("PrivateZone") is True
    assert [v["VPCId"] for v in zone.get("VPCs", [])] == [out["VpcId"]]


@moto_gap("CloudFormation does not create AWS::S3::BucketPolicy ('No Moto CloudFormation support')")
def test_log_bucket_policy(gateway_network) -> None:  # noqa: ANN001
    target, out = gateway_network
    s3 = target.client("s3")
    try:
        policy = json.loads(s3.get_bucket_policy(Bucket=out["LogBucketId"])["Policy"])
    except s3.exceptions.ClientError as exc:
        raise AssertionError(f"no bucket policy: {exc}") from None
    principal = policy["Statement"][0]["Principal"]
    assert principal == {"AWS": ["arn:aws:iam::127311923021:root"]}  # us-east-1's ELB log-delivery account


@pytest.fixture(scope="module")
def nat_instance_network(local_aws):  # noqa: ANN001, ANN201
    _, target = local_aws
    return target, create(target, "e2e-net-natinst", network_body(cidr="10.61.0.0/16"),
                          {"UseNatInstances": "true", "UseEipWithNatInstances": "true", "NatInstanceType": "t3.nano"})


def nat_instances(target, out) -> list[dict]:  # noqa: ANN001
    reservations = target.client("ec2").describe_instances(Filters=[{"Name": "vpc-id", "Values": [out["VpcId"]]}])["Reservations"]
    return [i for r in reservations for i in r["Instances"]]


def test_nat_instances_with_eips(nat_instance_network) -> None:  # noqa: ANN001
    target, out = nat_instance_network
    ec2 = target.client("ec2")
    assert ec2.describe_nat_gateways(Filters=[{"Name": "vpc-id", "Values": [out["VpcId"]]}])["NatGateways"] == []
    reservations = ec2.describe_instances(Filters=[{"Name": "vpc-id", "Values": [out["VpcId"]]}])["Reservations"]
    instances = [i for r in reservations for i in r["Instances"]]
    assert len(instances) == 3
    assert sorted(i["SubnetId"] for i in instances) == sorted(out["ExternalSubnets"].split(","))
    by_subnet = {i["SubnetId"]: i["InstanceId"] for i in instances}
    for table_id, ext_subnet in zip(out["InternalRouteTables"].split(","), out["ExternalSubnets"].split(","), strict=True):
        table = ec2.describe_route_tables(RouteTableIds=[table_id])["RouteTables"][0]
        default = next(r for r in table["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0")
        assert default.get("InstanceId") == by_subnet[ext_subnet]
    resources = target.client("cloudformation").describe_stack_resources(StackName="e2e-net-natinst")["StackResources"]
    # moto lists resources whose Condition is false with most fields missing.
    eips = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources if r.get("ResourceType") == "AWS::EC2::EIP"}
    assert sorted(eips) == ["NatInstanceEip1", "NatInstanceEip2", "NatInstanceEip3"], "one EIP per NAT instance, of their own (issue 18, item 14)"
    assert {a["PublicIp"] for a in ec2.describe_addresses()["Addresses"]} >= set(eips.values())


@moto_gap("CloudFormation instances ignore SourceDestCheck")
def test_nat_instances_forward_traffic(nat_instance_network) -> None:  # noqa: ANN001
    target, out = nat_instance_network
    ec2 = target.client("ec2")
    ids = [i["InstanceId"] for i in nat_instances(target, out)]
    if len(ids) != 3:
        raise RuntimeError(f"expected 3 NAT instances, found {len(ids)}")  # not the gap: fails the test
    checks = [ec2.describe_instance_attribute(InstanceId=i, Attribute="sourceDestCheck")["SourceDestCheck"]["Value"] for i in ids]
    assert not any(checks), "a NAT instance must forward traffic: source/dest check off"


def test_deploy_through_the_aws_cli(local_aws, tmp_path: Path) -> None:  # noqa: ANN001
    local, target = local_aws
    template = tmp_path / "network.json"
    body = network_body(cidr="10.62.0.0/16", az_count=2)
    assert len(body.encode()) < 51200, "small enough for an inline TemplateBody"
    template.write_text(body)
    # Inline TemplateBody: moto creates an empty stack from the aws CLI's own
    # --s3-bucket upload (path-style URL), seen with moto 5.2.5.
    result = run_aws(local.endpoint_url, target.region, "cloudformation", "deploy", "--template-file", str(template),
                     "--stack-name", "e2e-net-cli", "--capabilities", "CAPABILITY_IAM",
                     "--parameter-overrides", "Environment=cli", "ExportPrefix=clinet")
    assert result.returncode == 0, result.stderr
    out = stack_outputs(target.client("cloudformation"), "e2e-net-cli")
    ec2 = target.client("ec2")
    assert ec2.describe_vpcs(VpcIds=[out["VpcId"]])["Vpcs"][0]["CidrBlock"] == "10.62.0.0/16"
    cidrs = sorted(s["CidrBlock"] for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [out["VpcId"]]}])["Subnets"])
    assert cidrs == ["10.62.0.0/19", "10.62.32.0/20", "10.62.64.0/19", "10.62.96.0/20"]
    exports = all_exports(target.client("cloudformation"))
    assert "clinet-VpcId" in exports
