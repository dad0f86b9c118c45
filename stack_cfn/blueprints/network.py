"""The network layer: VPC, subnets, NAT, DNS, shared security groups, log bucket.

The structure (how many availability zones) comes from the stack description;
everything a user may vary per deployment is a parameter whose default is the
description's value, so the same template serves nested, standalone and
StackSet use.
"""

from __future__ import annotations

import awacs.s3 as s3_actions
from awacs.aws import Allow, Bool, Condition, Deny, Policy, Principal, Statement
from troposphere import (
    And,
    Base64,
    Equals,
    FindInMap,
    GetAtt,
    GetAZs,
    If,
    Join,
    Not,
    NoValue,
    Partition,
    Ref,
    Region,
    Select,
    Sub,
    Template,
    ec2,
    route53,
    s3,
)

from stack_cfn.blueprints.common import (
    add_bool_param,
    add_export_prefix,
    add_name_params,
    add_output,
    add_param,
    all_traffic,
    is_true,
    new_template,
    tags,
)
from stack_cfn.model.config import StackConfig
from stack_cfn.model.regions import USE_SERVICE_PRINCIPAL, elb_log_mapping

NAT_AMI_SSM = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"

# Conditions
USE_NAT_GATEWAYS = "UseNatGateways"
USE_NAT_INSTANCES = "UseNatInstances"
USE_NAT_INSTANCE_EIPS = "UseNatInstanceEips"
USE_NAT_EIPS = "UseNatEips"
AUTO_AZ = "AutoAvailabilityZone{}"
EXPIRE_LOGS = "ExpireLogs"
HAS_LOG_BUCKET_NAME = "HasLogBucketName"
ELB_ACCOUNT_DELIVERY = "ElbLogsFromAccount"

NAT_USER_DATA = """#!/bin/bash
# NAT instance: forward and masquerade traffic from the VPC's internal subnets.
set -euo pipefail
dnf install -y iptables-services
echo 'net.ipv4.ip_forward = 1' > /etc/sysctl.d/90-nat.conf
sysctl -p /etc/sysctl.d/90-nat.conf
iface=$(ip route show default | awk '{print $5; exit}')
iptables -t nat -A POSTROUTING -o "$iface" -s ${Cidr} -j MASQUERADE
iptables -F FORWARD
service iptables save
systemctl enable --now iptables
"""


def az_label(i: int) -> str:
    """1-based, zero padded: the seed's `-001` suffixes."""
    return f"{i + 1:03d}"


def build_network(cfg: StackConfig) -> Template:
    """The network template for `cfg` (its AZ count fixes the structure)."""
    t = new_template(f"stack-cfn network: VPC, {cfg.az_count} AZs of internal/external subnets, NAT, DNS, security groups, log bucket")
    n = cfg.az_count
    name, env = add_name_params(t, cfg.name, cfg.environment)
    vpc_cidr = add_param(t, "Cidr", str(cfg.plan.vpc), "VPC CIDR (a private /16 by default)", AllowedPattern=r"^\d+\.\d+\.\d+\.\d+/\d+$")
    internal = [
        add_param(t, f"InternalSubnet{i + 1}Cidr", str(cfg.plan.internal[i]), f"CIDR of internal subnet {i + 1}", AllowedPattern=r"^\d+\.\d+\.\d+\.\d+/\d+$")
        for i in range(n)
    ]
    external = [
        add_param(t, f"ExternalSubnet{i + 1}Cidr", str(cfg.plan.external[i]), f"CIDR of external subnet {i + 1}", AllowedPattern=r"^\d+\.\d+\.\d+\.\d+/\d+$")
        for i in range(n)
    ]
    azs = []
    for i in range(n):
        default = cfg.availability_zones[i] if cfg.availability_zones else ""
        ref = add_param(t, f"AvailabilityZone{i + 1}", default, f"Availability zone {i + 1}; empty picks the region's zone number {i + 1}")
        t.add_condition(AUTO_AZ.format(i + 1), Equals(ref, ""))
        azs.append(If(AUTO_AZ.format(i + 1), Select(i, GetAZs("")), ref))
    domain = add_param(t, "DomainName", cfg.domain_name, "Private DNS zone and DHCP search domain")
    ssh_cidr = add_param(t, "SshCidr", cfg.ssh_cidr, "Who may reach the bastion on port 22", AllowedPattern=r"^\d+\.\d+\.\d+\.\d+/\d+$")
    add_bool_param(t, "UseNatInstances", cfg.use_nat_instances, "true: one NAT EC2 instance per AZ instead of NAT gateways")
    add_bool_param(t, "UseEipWithNatInstances", cfg.use_eip_with_nat_instances, "true: give NAT instances Elastic IPs")
    nat_type = add_param(t, "NatInstanceType", cfg.nat_instance_type, "NAT instance type", AllowedPattern=r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")
    nat_ami = add_param(t, "NatInstanceAmi", NAT_AMI_SSM, "SSM parameter (or AMI id) of the NAT instance image", "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>")
    add_bool_param(t, "LogsExpirationEnabled", cfg.logs_expiration_enabled, "true: expire load balancer logs")
    expiry_days = add_param(t, "LogsExpirationDays", cfg.logs_expiration_days, "Days before logs expire", "Number", MinValue=1)
    bucket_name = add_param(t, "LogBucketName", cfg.log_bucket_name, "Log bucket name; empty lets CloudFormation pick a unique one")
    add_export_prefix(t)

    t.add_condition(USE_NAT_INSTANCES, is_true("UseNatInstances"))
    t.add_condition(USE_NAT_GATEWAYS, Not(is_true("UseNatInstances")))
    t.add_condition(USE_NAT_INSTANCE_EIPS, And(is_true("UseNatInstances"), is_true("UseEipWithNatInstances")))
    t.add_condition(USE_NAT_EIPS, Not(And(is_true("UseNatInstances"), Not(is_true("UseEipWithNatInstances")))))
    t.add_condition(EXPIRE_LOGS, is_true("LogsExpirationEnabled"))
    t.add_condition(HAS_LOG_BUCKET_NAME, Not(Equals(bucket_name, "")))
    t.add_rule(
        "EipNeedsNatInstances",
        {
            "RuleCondition": is_true("UseEipWithNatInstances"),
            "Assertions": [
                {
                    "Assert": is_true("UseNatInstances"),
                    "AssertDescription": "UseEipWithNatInstances applies to NAT instances only: set UseNatInstances=true",
                }
            ],
        },
    )

    vpc = t.add_resource(
        ec2.VPC("Vpc", CidrBlock=vpc_cidr, EnableDnsSupport=True, EnableDnsHostnames=True, Tags=tags(name, env))
    )
    igw = t.add_resource(ec2.InternetGateway("InternetGateway", Tags=tags(name, env)))
    attach = t.add_resource(ec2.VPCGatewayAttachment("VpcGatewayAttachment", VpcId=Ref(vpc), InternetGatewayId=Ref(igw)))

    ext_subnets, int_subnets, int_tables = [], [], []
    ext_table = t.add_resource(
        ec2.RouteTable("ExternalRouteTable", VpcId=Ref(vpc), Tags=tags(Sub("${Name}-external-001"), env))
    )
    t.add_resource(
        ec2.Route("ExternalDefaultRoute", DependsOn=attach, RouteTableId=Ref(ext_table), DestinationCidrBlock="0.0.0.0/0", GatewayId=Ref(igw))
    )
    for i in range(n):
        label = az_label(i)
        ext = t.add_resource(
            ec2.Subnet(
                f"ExternalSubnet{i + 1}",
                VpcId=Ref(vpc),
                CidrBlock=external[i],
                AvailabilityZone=azs[i],
                MapPublicIpOnLaunch=True,
                Tags=tags(Sub(f"${{Name}}-external-{label}"), env, Tier="external"),
            )
        )
        intl = t.add_resource(
            ec2.Subnet(
                f"InternalSubnet{i + 1}",
                VpcId=Ref(vpc),
                CidrBlock=internal[i],
                AvailabilityZone=azs[i],
                Tags=tags(Sub(f"${{Name}}-internal-{label}"), env, Tier="internal"),
            )
        )
        table = t.add_resource(
            ec2.RouteTable(f"InternalRouteTable{i + 1}", VpcId=Ref(vpc), Tags=tags(Sub(f"${{Name}}-internal-{label}"), env))
        )
        t.add_resource(ec2.SubnetRouteTableAssociation(f"ExternalSubnet{i + 1}RouteTableAssociation", SubnetId=Ref(ext), RouteTableId=Ref(ext_table)))
        t.add_resource(ec2.SubnetRouteTableAssociation(f"InternalSubnet{i + 1}RouteTableAssociation", SubnetId=Ref(intl), RouteTableId=Ref(table)))
        ext_subnets.append(ext)
        int_subnets.append(intl)
        int_tables.append(table)

    nat_sg = t.add_resource(
        ec2.SecurityGroup(
            "NatSecurityGroup",
            Condition=USE_NAT_INSTANCES,
            GroupDescription="NAT instances: all traffic from the internal subnets",
            VpcId=Ref(vpc),
            SecurityGroupEgress=[all_traffic(CidrIp="0.0.0.0/0")],
            Tags=tags(Sub("${Name} nat"), env),
        )
    )
    for i, subnet_cidr in enumerate(internal):
        t.add_resource(
            ec2.SecurityGroupIngress(
                f"NatIngressFromInternalSubnet{i + 1}",
                Condition=USE_NAT_INSTANCES,
                GroupId=Ref(nat_sg),
                IpProtocol="-1",
                CidrIp=subnet_cidr,
                Description=f"All traffic from internal subnet {i + 1}",
            )
        )
    nat_ips = []
    for i in range(n):
        eip = t.add_resource(
            ec2.EIP(f"NatEip{i + 1}", Condition=USE_NAT_EIPS, Domain="vpc", DependsOn=attach, Tags=tags(Sub(f"${{Name}}-nat-{az_label(i)}"), env))
        )
        gw = t.add_resource(
            ec2.NatGateway(
                f"NatGateway{i + 1}",
                Condition=USE_NAT_GATEWAYS,
                AllocationId=GetAtt(eip, "AllocationId"),
                SubnetId=Ref(ext_subnets[i]),
                Tags=tags(Sub(f"${{Name}}-nat-{az_label(i)}"), env),
            )
        )
        instance = t.add_resource(
            ec2.Instance(
                f"NatInstance{i + 1}",
                Condition=USE_NAT_INSTANCES,
                DependsOn=attach,
                ImageId=nat_ami,
                InstanceType=nat_type,
                SubnetId=Ref(ext_subnets[i]),
                SourceDestCheck=False,
                SecurityGroupIds=[Ref(nat_sg)],
                MetadataOptions=ec2.MetadataOptions(HttpTokens="required", HttpEndpoint="enabled"),
                UserData=Base64(Sub(NAT_USER_DATA, Cidr=vpc_cidr)),
                Tags=tags(Sub(f"${{Name}}-internal-{az_label(i)} NAT"), env),
            )
        )
        t.add_resource(
            ec2.EIPAssociation(
                f"NatEipAssociation{i + 1}",
                Condition=USE_NAT_INSTANCE_EIPS,
                AllocationId=GetAtt(eip, "AllocationId"),
                InstanceId=Ref(instance),
            )
        )
        # One route whose target follows the NAT mode: switching modes is an
        # in-place ReplaceRoute, where two conditional routes would collide on
        # 0.0.0.0/0. troposphere's validator cannot see that only one target
        # survives the conditions, so it is skipped for this resource alone.
        t.add_resource(
            ec2.Route(
                f"InternalDefaultRoute{i + 1}",
                RouteTableId=Ref(int_tables[i]),
                DestinationCidrBlock="0.0.0.0/0",
                NatGatewayId=If(USE_NAT_GATEWAYS, Ref(gw), NoValue),
                InstanceId=If(USE_NAT_INSTANCES, Ref(instance), NoValue),
            ).no_validation()
        )
        nat_ips.append(If(USE_NAT_EIPS, Ref(eip), GetAtt(instance, "PublicIp")))

    dhcp = t.add_resource(
        ec2.DHCPOptions("DhcpOptions", DomainName=domain, DomainNameServers=["AmazonProvidedDNS"], Tags=tags(name, env))
    )
    t.add_resource(ec2.VPCDHCPOptionsAssociation("DhcpOptionsAssociation", VpcId=Ref(vpc), DhcpOptionsId=Ref(dhcp)))
    zone = t.add_resource(
        route53.HostedZone(
            "HostedZone",
            Name=domain,
            VPCs=[route53.HostedZoneVPCs(VPCId=Ref(vpc), VPCRegion=Region)],
            HostedZoneConfig=route53.HostedZoneConfiguration(Comment=Sub("Private zone of ${Name} ${Environment}")),
            HostedZoneTags=tags(name, env),
        )
    )

    all_out = [all_traffic(CidrIp="0.0.0.0/0")]
    internal_elb = t.add_resource(
        ec2.SecurityGroup(
            "InternalElbSecurityGroup",
            GroupDescription="Internal load balancers: HTTP and HTTPS from the VPC",
            VpcId=Ref(vpc),
            SecurityGroupIngress=[ec2.SecurityGroupRule(IpProtocol="tcp", FromPort=p, ToPort=p, CidrIp=vpc_cidr) for p in (80, 443)],
            SecurityGroupEgress=all_out,
            Tags=tags(Sub("${Name} internal-elb"), env),
        )
    )
    external_elb = t.add_resource(
        ec2.SecurityGroup(
            "ExternalElbSecurityGroup",
            GroupDescription="Public load balancers: HTTP and HTTPS from anywhere",
            VpcId=Ref(vpc),
            SecurityGroupIngress=[ec2.SecurityGroupRule(IpProtocol="tcp", FromPort=p, ToPort=p, CidrIp="0.0.0.0/0") for p in (80, 443)],
            SecurityGroupEgress=all_out,
            Tags=tags(Sub("${Name} external-elb"), env),
        )
    )
    external_ssh = t.add_resource(
        ec2.SecurityGroup(
            "ExternalSshSecurityGroup",
            GroupDescription="Bastion: SSH from the allowed range",
            VpcId=Ref(vpc),
            SecurityGroupIngress=[ec2.SecurityGroupRule(IpProtocol="tcp", FromPort=22, ToPort=22, CidrIp=ssh_cidr)],
            SecurityGroupEgress=all_out,
            Tags=tags(Sub("${Name} external-ssh"), env),
        )
    )
    internal_ssh = t.add_resource(
        ec2.SecurityGroup(
            "InternalSshSecurityGroup",
            GroupDescription="Internal instances: SSH from the bastion",
            VpcId=Ref(vpc),
            SecurityGroupIngress=[ec2.SecurityGroupRule(IpProtocol="tcp", FromPort=22, ToPort=22, SourceSecurityGroupId=Ref(external_ssh))],
            SecurityGroupEgress=all_out,
            Tags=tags(Sub("${Name} internal-ssh"), env),
        )
    )

    bucket = _log_bucket(t, name, env, bucket_name, expiry_days)

    joined = lambda items: Join(",", [Ref(x) for x in items])
    add_output(t, "VpcId", Ref(vpc), "The VPC")
    add_output(t, "Cidr", GetAtt(vpc, "CidrBlock"), "The VPC's CIDR")
    add_output(t, "InternalSubnets", joined(int_subnets), "Internal subnet ids, comma separated, in AZ order")
    add_output(t, "ExternalSubnets", joined(ext_subnets), "External subnet ids, comma separated, in AZ order")
    add_output(t, "AvailabilityZones", Join(",", azs), "Availability zones, comma separated, in subnet order")
    add_output(t, "InternalRouteTables", joined(int_tables), "Internal route table ids, comma separated")
    add_output(t, "ExternalRouteTables", Ref(ext_table), "The external route table id")
    add_output(t, "ZoneId", Ref(zone), "The private hosted zone")
    add_output(t, "DomainName", domain, "The private domain, e.g. stack.local")
    add_output(t, "InternalElb", Ref(internal_elb), "Security group of internal load balancers")
    add_output(t, "ExternalElb", Ref(external_elb), "Security group of public load balancers")
    add_output(t, "ExternalSsh", Ref(external_ssh), "Security group admitting SSH from the allowed range")
    add_output(t, "InternalSsh", Ref(internal_ssh), "Security group admitting SSH from the bastion")
    add_output(t, "VpcSecurityGroup", GetAtt(vpc, "DefaultSecurityGroup"), "The VPC's default security group")
    add_output(t, "LogBucketId", Ref(bucket), "Bucket of load balancer access logs")
    add_output(t, "InternalNatIps", Join(",", nat_ips), "Public IPs that internal traffic leaves from")
    return t


def _log_bucket(t: Template, name: Ref, env: Ref, bucket_name: Ref, expiry_days: Ref) -> s3.Bucket:
    t.add_mapping("ElbLogDelivery", elb_log_mapping())
    t.add_condition(
        ELB_ACCOUNT_DELIVERY, Not(Equals(FindInMap("ElbLogDelivery", Region, "Account"), USE_SERVICE_PRINCIPAL))
    )
    bucket = t.add_resource(
        s3.Bucket(
            "LogBucket",
            DeletionPolicy="Retain",
            UpdateReplacePolicy="Retain",
            BucketName=If(HAS_LOG_BUCKET_NAME, bucket_name, NoValue),
            BucketEncryption=s3.BucketEncryption(
                ServerSideEncryptionConfiguration=[
                    s3.ServerSideEncryptionRule(ServerSideEncryptionByDefault=s3.ServerSideEncryptionByDefault(SSEAlgorithm="AES256"))
                ]
            ),
            PublicAccessBlockConfiguration=s3.PublicAccessBlockConfiguration(
                BlockPublicAcls=True, BlockPublicPolicy=True, IgnorePublicAcls=True, RestrictPublicBuckets=True
            ),
            OwnershipControls=s3.OwnershipControls(Rules=[s3.OwnershipControlsRule(ObjectOwnership="BucketOwnerEnforced")]),
            LifecycleConfiguration=s3.LifecycleConfiguration(
                Rules=[
                    s3.LifecycleRule(
                        Id="logs-expiration",
                        Status=If(EXPIRE_LOGS, "Enabled", "Disabled"),
                        ExpirationInDays=expiry_days,
                    )
                ]
            ),
            Tags=tags(Sub("${Name}-${Environment}-logs"), env),
        )
    )
    objects = Join("", ["arn:", Partition, ":s3:::", Ref(bucket), "/*"])
    bucket_arn = Join("", ["arn:", Partition, ":s3:::", Ref(bucket)])
    account_principal = Join("", ["arn:", Partition, ":iam::", FindInMap("ElbLogDelivery", Region, "Account"), ":root"])
    delivery = Statement(
        Sid="ElbAccessLogDelivery",
        Effect=Allow,
        Action=[s3_actions.PutObject],
        Resource=[objects],
        Principal=Principal("AWS", [account_principal]),
    )
    service_delivery = Statement(
        Sid="ElbAccessLogDelivery",
        Effect=Allow,
        Action=[s3_actions.PutObject],
        Resource=[objects],
        Principal=Principal("Service", ["logdelivery.elasticloadbalancing.amazonaws.com"]),
    )
    tls_only = Statement(
        Sid="DenyInsecureTransport",
        Effect=Deny,
        Action=[s3_actions.Action("*")],
        Resource=[bucket_arn, objects],
        Principal=Principal("*"),
        Condition=Condition(Bool("aws:SecureTransport", "false")),
    )
    t.add_resource(
        s3.BucketPolicy(
            "LogBucketPolicy",
            Bucket=Ref(bucket),
            PolicyDocument=If(
                ELB_ACCOUNT_DELIVERY,
                Policy(Version="2012-10-17", Id="log-bucket-policy", Statement=[delivery, tls_only]),
                Policy(Version="2012-10-17", Id="log-bucket-policy", Statement=[service_delivery, tls_only]),
            ),
        )
    )
    return bucket
