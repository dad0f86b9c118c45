"""The network layer: VPC, subnets, NAT, DNS, shared security groups, log bucket.

The structure (how many availability zones) comes from the stack description;
everything a user may vary per deployment is a parameter whose default is the
description's value (see interfaces.Network), so the same template serves
nested, standalone and StackSet use.
"""

from __future__ import annotations

from dataclasses import dataclass

import awacs.s3 as s3_actions
from awacs.aws import Allow, ArnLike, Bool, Condition, Deny, Principal, Statement, StringEquals
from troposphere import (
    AccountId,
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
    iam,
    route53,
    s3,
)

from stack_cfn.blueprints import iam as policies
from stack_cfn.blueprints.alarms import add_nat_alarm, add_topic
from stack_cfn.blueprints.common import add_export_prefix_condition, all_traffic, emit, is_true, new_template, tags
from stack_cfn.blueprints.contract import Declared, declare
from stack_cfn.blueprints.network_contract import Network as N
from stack_cfn.blueprints.suppressions import LOG_BUCKET_ACCESS_LOGGING, LOG_BUCKET_VERSIONING, PUBLIC_WEB_PORTS, skipping
from stack_cfn.model.config import StackConfig
from stack_cfn.model.regions import ELB_LOG_DELIVERY_PRINCIPAL, elb_log_mapping

# Conditions
USE_NAT_GATEWAYS = "UseNatGateways"
USE_NAT_INSTANCES = N.UseNatInstances.name  # the condition bears its parameter's name
USE_NAT_INSTANCE_EIPS = "UseNatInstanceEips"
ONE_NAT_GATEWAY = "OneNatGateway"  # nat_gateways: one: NatGateway1 serves every zone
NAT_GATEWAY_PER_ZONE = "NatGatewayPerZone"
S3_ENDPOINT = "S3EndpointOn"
AUTO_AZ = "AutoAvailabilityZone{}"
EXPIRE_LOGS = "ExpireLogs"
HAS_LOG_BUCKET_NAME = "HasLogBucketName"
ELB_ACCOUNT_DELIVERY = "ElbLogsFromAccount"
HAS_SSH_CIDR = "HasSshCidr"
FLOW_LOGS = "FlowLogsOn"

NAT_ROOT_GIB = 8  # the AL2023 AMI's root snapshot

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


@dataclass
class Net:
    """What the steps of one network template share: its parameters and the resources made so far."""

    t: Template
    p: Declared
    n: int
    vpc: ec2.VPC | None = None
    attach: ec2.VPCGatewayAttachment | None = None
    igw: ec2.InternetGateway | None = None

    def tags(self, name: object, **extra: object) -> object:
        return tags(name, self.p[N.Environment], **extra)

    @property
    def name_tags(self) -> object:
        return self.tags(self.p[N.Name])


def build_network(cfg: StackConfig) -> Template:
    """The network template for `cfg` (its AZ count fixes the structure)."""
    t = new_template(f"stack-cfn network: VPC, {cfg.zone_count} AZs of internal/external subnets, NAT, DNS, security groups, log bucket")
    net = Net(t, declare(t, N, cfg), cfg.zone_count)
    _conditions(net)
    _vpc(net)
    azs = _zones(net)
    ext_subnets, int_subnets, int_tables = _subnets(net, azs)
    nat_ips = _nat(net, ext_subnets, int_tables)
    _s3_endpoint(net, int_tables)
    zone = _dns(net)
    groups = _security_groups(net)
    bucket = _log_bucket(t, net.p[N.Name], net.p[N.Environment], net.p[N.LogBucketName], net.p[N.LogsExpirationDays])
    _flow_logs(net, bucket)
    if cfg.alarms:
        topic = add_topic(t, net.p, cfg.alarms.emails)
        for i in range(cfg.zone_count):
            add_nat_alarm(t, net.p, topic, f"NatGateway{i + 1}", i + 1, USE_NAT_GATEWAYS if i == 0 else NAT_GATEWAY_PER_ZONE)
        emit(t, N.Outputs.AlarmTopic, topic)
    joined = lambda items: Join(",", [Ref(x) for x in items])
    for out, value in (
        (N.Outputs.VpcId, Ref(net.vpc)), (N.Outputs.Cidr, GetAtt(net.vpc, "CidrBlock")),
        (N.Outputs.InternalSubnets, joined(int_subnets)), (N.Outputs.ExternalSubnets, joined(ext_subnets)),
        (N.Outputs.AvailabilityZones, Join(",", azs)), (N.Outputs.InternalRouteTables, joined(int_tables)),
        (N.Outputs.ExternalRouteTables, Ref("ExternalRouteTable")), (N.Outputs.ZoneId, Ref(zone)), (N.Outputs.DomainName, net.p[N.DomainName]),
        (N.Outputs.InternalElb, Ref(groups["InternalElb"])), (N.Outputs.ExternalElb, Ref(groups["ExternalElb"])),
        (N.Outputs.ExternalSsh, Ref(groups["ExternalSsh"])), (N.Outputs.InternalSsh, Ref(groups["InternalSsh"])),
        (N.Outputs.VpcSecurityGroup, GetAtt(net.vpc, "DefaultSecurityGroup")), (N.Outputs.LogBucketId, Ref(bucket)),
        (N.Outputs.InternalNatIps, Join(",", If(ONE_NAT_GATEWAY, [Ref("NatEip1")], nat_ips))),
    ):
        emit(t, out, value)
    return t


def _conditions(net: Net) -> None:
    t, p = net.t, net.p
    add_export_prefix_condition(t)
    nat_instances, eips = is_true(p[N.UseNatInstances]), is_true(p[N.UseEipWithNatInstances])
    t.add_condition(USE_NAT_INSTANCES, nat_instances)
    t.add_condition(USE_NAT_GATEWAYS, Not(nat_instances))
    t.add_condition(USE_NAT_INSTANCE_EIPS, And(nat_instances, eips))
    one = Equals(p[N.NatGateways], "one")
    t.add_condition(ONE_NAT_GATEWAY, And(Not(nat_instances), one))
    t.add_condition(NAT_GATEWAY_PER_ZONE, And(Not(nat_instances), Not(one)))
    t.add_condition(S3_ENDPOINT, is_true(p[N.S3Endpoint]))
    t.add_condition(EXPIRE_LOGS, is_true(p[N.LogsExpirationEnabled]))
    t.add_condition(HAS_LOG_BUCKET_NAME, Not(Equals(p[N.LogBucketName], "")))
    t.add_condition(HAS_SSH_CIDR, Not(Equals(p[N.SshCidr], "")))
    t.add_condition(FLOW_LOGS, is_true(p[N.FlowLogs]))
    t.add_rule("EipNeedsNatInstances", {
        "RuleCondition": eips,
        "Assertions": [{"Assert": nat_instances,
                        "AssertDescription": f"{N.UseEipWithNatInstances.name} applies to NAT instances only: set {N.UseNatInstances.name}=true"}],
    })
    t.add_rule("OneNatGatewayNeedsGateways", {
        "RuleCondition": one,
        "Assertions": [{"Assert": Not(nat_instances),
                        "AssertDescription": f"{N.NatGateways.name}=one applies to NAT gateways: set {N.UseNatInstances.name}=false"}],
    })


def _vpc(net: Net) -> None:
    t = net.t
    net.vpc = t.add_resource(ec2.VPC("Vpc", CidrBlock=net.p[N.Cidr], EnableDnsSupport=True, EnableDnsHostnames=True, Tags=net.name_tags))
    net.igw = t.add_resource(ec2.InternetGateway("InternetGateway", Tags=net.name_tags))
    net.attach = t.add_resource(ec2.VPCGatewayAttachment("VpcGatewayAttachment", VpcId=Ref(net.vpc), InternetGatewayId=Ref(net.igw)))


def _zones(net: Net) -> list[object]:
    """Each AZ parameter, or the region's zone of the same number when it is empty."""
    azs = []
    for i in range(net.n):
        ref = net.p[N.AvailabilityZone.at(i)]
        net.t.add_condition(AUTO_AZ.format(i + 1), Equals(ref, ""))
        azs.append(If(AUTO_AZ.format(i + 1), Select(i, GetAZs("")), ref))
    return azs


def _subnets(net: Net, azs: list[object]) -> tuple[list[ec2.Subnet], list[ec2.Subnet], list[ec2.RouteTable]]:
    t, vpc = net.t, Ref(net.vpc)
    ext_table = t.add_resource(ec2.RouteTable("ExternalRouteTable", VpcId=vpc, Tags=net.tags(Sub("${Name}-external-001"))))
    t.add_resource(ec2.Route("ExternalDefaultRoute", DependsOn=net.attach, RouteTableId=Ref(ext_table), DestinationCidrBlock="0.0.0.0/0",
                             GatewayId=Ref(net.igw)))
    ext_subnets, int_subnets, int_tables = [], [], []
    for i in range(net.n):
        label = az_label(i)
        ext = t.add_resource(ec2.Subnet(
            f"ExternalSubnet{i + 1}", VpcId=vpc, CidrBlock=net.p[N.ExternalSubnetCidr.at(i)], AvailabilityZone=azs[i],
            MapPublicIpOnLaunch=True, Tags=net.tags(Sub(f"${{Name}}-external-{label}"), Tier="external")))
        intl = t.add_resource(ec2.Subnet(
            f"InternalSubnet{i + 1}", VpcId=vpc, CidrBlock=net.p[N.InternalSubnetCidr.at(i)], AvailabilityZone=azs[i],
            Tags=net.tags(Sub(f"${{Name}}-internal-{label}"), Tier="internal")))
        table = t.add_resource(ec2.RouteTable(f"InternalRouteTable{i + 1}", VpcId=vpc, Tags=net.tags(Sub(f"${{Name}}-internal-{label}"))))
        t.add_resource(ec2.SubnetRouteTableAssociation(f"ExternalSubnet{i + 1}RouteTableAssociation", SubnetId=Ref(ext), RouteTableId=Ref(ext_table)))
        t.add_resource(ec2.SubnetRouteTableAssociation(f"InternalSubnet{i + 1}RouteTableAssociation", SubnetId=Ref(intl), RouteTableId=Ref(table)))
        ext_subnets.append(ext)
        int_subnets.append(intl)
        int_tables.append(table)
    return ext_subnets, int_subnets, int_tables


def _nat(net: Net, ext_subnets: list[ec2.Subnet], int_tables: list[ec2.RouteTable]) -> list[object]:
    """A NAT gateway or a NAT instance per AZ (by condition), and each internal table's default route."""
    t = net.t
    nat_sg = t.add_resource(ec2.SecurityGroup(
        "NatSecurityGroup", Condition=USE_NAT_INSTANCES, GroupDescription="NAT instances: all traffic from the internal subnets",
        VpcId=Ref(net.vpc), SecurityGroupEgress=[all_traffic(CidrIp="0.0.0.0/0", Description="All traffic out")], Tags=net.tags(Sub("${Name} nat"))))
    for i in range(net.n):
        t.add_resource(ec2.SecurityGroupIngress(
            f"NatIngressFromInternalSubnet{i + 1}", Condition=USE_NAT_INSTANCES, GroupId=Ref(nat_sg), IpProtocol="-1",
            CidrIp=net.p[N.InternalSubnetCidr.at(i)], Description=f"All traffic from internal subnet {i + 1}"))
    role = t.add_resource(iam.Role("NatRole", Condition=USE_NAT_INSTANCES, AssumeRolePolicyDocument=policies.trust("ec2.amazonaws.com"),
                                   Policies=[iam.Policy(PolicyName="session-manager", PolicyDocument=policies.session_manager_policy())],
                                   Tags=net.name_tags))
    t.add_resource(iam.InstanceProfile("NatInstanceProfile", Condition=USE_NAT_INSTANCES, Roles=[Ref(role)]))
    return [_nat_in_zone(net, i, ext_subnets[i], int_tables[i], nat_sg) for i in range(net.n)]


def _s3_endpoint(net: Net, int_tables: list[ec2.RouteTable]) -> None:
    """An S3 gateway endpoint on the internal route tables: S3 traffic (ECR image layers, log delivery) skips the NAT.
    Gateway endpoints cost nothing and serve S3 and DynamoDB only, through routes in the tables listed
    (AWS PrivateLink guide, "Gateway endpoints"; CloudFormation reference, AWS::EC2::VPCEndpoint). The policy
    is AWS's default (full access): the endpoint widens no one's rights, IAM and bucket policies still decide."""
    net.t.add_resource(ec2.VPCEndpoint(
        "S3GatewayEndpoint", Condition=S3_ENDPOINT, VpcId=Ref(net.vpc), VpcEndpointType="Gateway",
        ServiceName=Sub("com.amazonaws.${AWS::Region}.s3"), RouteTableIds=[Ref(x) for x in int_tables]))


def _nat_in_zone(net: Net, i: int, subnet: ec2.Subnet, table: ec2.RouteTable, nat_sg: ec2.SecurityGroup) -> object:
    """A gateway or an instance, each with an Elastic IP of its own kind. One EIP shared by both kinds cannot
    survive a switch: CloudFormation creates the new gateway or association before it deletes the old holder
    (removed resources go in the cleanup phase, after every create), and EC2 refuses an address that is still
    associated ("Elastic IP address ... is already associated", AssociateAddress / CreateNatGateway). A switch
    therefore changes the public egress address; NatEip<n> stays the gateways' (the default) so their address is kept."""
    t, p, name = net.t, net.p, Sub(f"${{Name}}-nat-{az_label(i)}")
    first = i == 0  # with nat_gateways: one, zone 1's gateway serves every zone
    gateway = USE_NAT_GATEWAYS if first else NAT_GATEWAY_PER_ZONE
    eip = t.add_resource(ec2.EIP(f"NatEip{i + 1}", Condition=gateway, Domain="vpc", DependsOn=net.attach, Tags=net.tags(name)))
    gw = t.add_resource(ec2.NatGateway(f"NatGateway{i + 1}", Condition=gateway, AllocationId=GetAtt(eip, "AllocationId"),
                                       SubnetId=Ref(subnet), Tags=net.tags(name)))
    # No EbsOptimized: true is refused at launch by types without EBS optimization (t2 among those the settings
    # allow), and every current-generation type is EBS-optimized by default (Amazon EC2 user guide,
    # "Amazon EBS-optimized instance types"); neither botocore nor cfn-lint ships the per-type data to derive it.
    instance = t.add_resource(ec2.Instance(
        f"NatInstance{i + 1}", Condition=USE_NAT_INSTANCES, DependsOn=net.attach, ImageId=p[N.NatInstanceAmi], InstanceType=p[N.NatInstanceType],
        SubnetId=Ref(subnet), SourceDestCheck=False, SecurityGroupIds=[Ref(nat_sg)],
        MetadataOptions=ec2.MetadataOptions(HttpTokens="required", HttpPutResponseHopLimit=1, HttpEndpoint="enabled"),
        IamInstanceProfile=Ref("NatInstanceProfile"), Monitoring=True,
        BlockDeviceMappings=[ec2.BlockDeviceMapping(DeviceName="/dev/xvda", Ebs=ec2.EbsBlockDevice(VolumeType="gp3", VolumeSize=NAT_ROOT_GIB, Encrypted=True, DeleteOnTermination=True))],
        UserData=Base64(Sub(NAT_USER_DATA, Cidr=p[N.Cidr])), Tags=net.tags(Sub(f"${{Name}}-internal-{az_label(i)} NAT"))))
    instance_eip = t.add_resource(ec2.EIP(f"NatInstanceEip{i + 1}", Condition=USE_NAT_INSTANCE_EIPS, Domain="vpc", DependsOn=net.attach,
                                          Tags=net.tags(name)))
    t.add_resource(ec2.EIPAssociation(f"NatEipAssociation{i + 1}", Condition=USE_NAT_INSTANCE_EIPS,
                                      AllocationId=GetAtt(instance_eip, "AllocationId"), InstanceId=Ref(instance)))
    # One route whose target follows the NAT mode: switching modes is an
    # in-place ReplaceRoute, where two conditional routes would collide on
    # 0.0.0.0/0. troposphere's validator cannot see that only one target
    # survives the conditions, so it is skipped for this resource alone.
    t.add_resource(ec2.Route(
        f"InternalDefaultRoute{i + 1}", RouteTableId=Ref(table), DestinationCidrBlock="0.0.0.0/0",
        NatGatewayId=If(USE_NAT_GATEWAYS, Ref(gw) if first else If(ONE_NAT_GATEWAY, Ref("NatGateway1"), Ref(gw)), NoValue),
        InstanceId=If(USE_NAT_INSTANCES, Ref(instance), NoValue)).no_validation())
    # With one gateway, zones 2 and up have no address of their own: InternalNatIps lists NatEip1 alone then.
    return If(gateway, Ref(eip), If(USE_NAT_INSTANCE_EIPS, Ref(instance_eip), GetAtt(instance, "PublicIp")))


def _dns(net: Net) -> route53.HostedZone:
    t, domain = net.t, net.p[N.DomainName]
    dhcp = t.add_resource(ec2.DHCPOptions("DhcpOptions", DomainName=domain, DomainNameServers=["AmazonProvidedDNS"], Tags=net.name_tags))
    t.add_resource(ec2.VPCDHCPOptionsAssociation("DhcpOptionsAssociation", VpcId=Ref(net.vpc), DhcpOptionsId=Ref(dhcp)))
    return t.add_resource(route53.HostedZone(
        "HostedZone", Name=domain, VPCs=[route53.HostedZoneVPCs(VPCId=Ref(net.vpc), VPCRegion=Region)],
        HostedZoneConfig=route53.HostedZoneConfiguration(Comment=Sub("Private zone of ${Name} ${Environment}")), HostedZoneTags=net.name_tags))


def _security_groups(net: Net) -> dict[str, ec2.SecurityGroup]:
    """The shared groups, by the output that names them; every rule says what it admits."""
    t = net.t
    web = lambda cidr, who: [ec2.SecurityGroupRule(IpProtocol="tcp", FromPort=p, ToPort=p, CidrIp=cidr, Description=f"{proto} from {who}")
                             for p, proto in ((80, "HTTP"), (443, "HTTPS"))]
    groups: dict[str, ec2.SecurityGroup] = {}
    for key, description, ingress, label in (
        ("InternalElb", "Internal load balancers: HTTP and HTTPS from the VPC", lambda: web(net.p[N.Cidr], "the VPC"), "internal-elb"),
        ("ExternalElb", "Public load balancers: HTTP and HTTPS from anywhere", lambda: web("0.0.0.0/0", "the internet"), "external-elb"),
        ("ExternalSsh", "Bastion: SSH from the allowed range", lambda: None, "external-ssh"),
        ("InternalSsh", "Internal instances: SSH from the bastion", lambda: [ec2.SecurityGroupRule(
            IpProtocol="tcp", FromPort=22, ToPort=22, SourceSecurityGroupId=Ref(groups["ExternalSsh"]), Description="SSH from the bastion")],
         "internal-ssh"),
    ):
        rules = ingress()
        groups[key] = t.add_resource(ec2.SecurityGroup(
            f"{key}SecurityGroup", GroupDescription=description, VpcId=Ref(net.vpc), **({"SecurityGroupIngress": rules} if rules else {}),
            SecurityGroupEgress=[all_traffic(CidrIp="0.0.0.0/0", Description="All traffic out")], Tags=net.tags(Sub(f"${{Name}} {label}"))))
    groups["ExternalElb"].Metadata = skipping(PUBLIC_WEB_PORTS)
    # Port 22 is open only to a range the stack file names (ssh_cidr); by default to no one.
    t.add_resource(ec2.SecurityGroupIngress(
        "ExternalSshIngress", Condition=HAS_SSH_CIDR, GroupId=Ref(groups["ExternalSsh"]), IpProtocol="tcp", FromPort=22, ToPort=22,
        CidrIp=net.p[N.SshCidr], Description="SSH from the allowed range"))
    return groups


def _flow_logs(net: Net, bucket: s3.Bucket) -> None:
    """Every VPC flow (accepted and rejected) to the log bucket, under AWSLogs/<account>/vpcflowlogs/ (no prefix: the
    load balancers' logs sit under their service's name)."""
    net.t.add_resource(ec2.FlowLog(
        "FlowLog", Condition=FLOW_LOGS, DependsOn="LogBucketPolicy", ResourceId=Ref(net.vpc), ResourceType="VPC", TrafficType="ALL",
        LogDestinationType="s3", LogDestination=GetAtt(bucket, "Arn"), Tags=net.name_tags))


def _log_bucket(t: Template, name: Ref, env: Ref, bucket_name: Ref, expiry_days: Ref) -> s3.Bucket:
    t.add_mapping("ElbLogDelivery", elb_log_mapping())
    # The commercial partition delivers by the service principal in every Region (model/regions.py); only GovCloud and
    # China still name a per-Region account, so the table is read only there.
    t.add_condition(ELB_ACCOUNT_DELIVERY, Not(Equals(Partition, "aws")))
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
            Metadata=skipping(LOG_BUCKET_ACCESS_LOGGING, LOG_BUCKET_VERSIONING),
        )
    )
    _log_bucket_policy(t, bucket)
    return bucket


def _log_bucket_policy(t: Template, bucket: s3.Bucket) -> None:
    """The region's load balancers (by account, or by service principal) and this account's flow logs may
    deliver, each only under AWSLogs/<this account>/; TLS only."""
    objects = Join("", ["arn:", Partition, ":s3:::", Ref(bucket), "/*"])
    own_logs = Join("", ["arn:", Partition, ":s3:::", Ref(bucket), "/*/AWSLogs/", AccountId, "/*"])  # <service>/AWSLogs/<account>/...
    flow_logs = Join("", ["arn:", Partition, ":s3:::", Ref(bucket), "/AWSLogs/", AccountId, "/*"])
    bucket_arn = Join("", ["arn:", Partition, ":s3:::", Ref(bucket)])
    account_principal = Join("", ["arn:", Partition, ":iam::", FindInMap("ElbLogDelivery", Region, "Account"), ":root"])
    delivery_by = lambda principal: Statement(Sid="ElbAccessLogDelivery", Effect=Allow, Action=[s3_actions.PutObject], Resource=[own_logs],
                                              Principal=principal)
    from_this_account = [StringEquals("aws:SourceAccount", AccountId),
                         ArnLike("aws:SourceArn", Join("", ["arn:", Partition, ":logs:", Region, ":", AccountId, ":*"]))]
    flow_write = Statement(Sid="FlowLogDelivery", Effect=Allow, Action=[s3_actions.PutObject], Resource=[flow_logs],
                           Principal=Principal("Service", ["delivery.logs.amazonaws.com"]),
                           Condition=Condition([StringEquals("s3:x-amz-acl", "bucket-owner-full-control"), *from_this_account]))
    flow_acl = Statement(Sid="FlowLogAclCheck", Effect=Allow, Action=[s3_actions.GetBucketAcl], Resource=[bucket_arn],
                         Principal=Principal("Service", ["delivery.logs.amazonaws.com"]), Condition=Condition(from_this_account))
    delivery = delivery_by(Principal("AWS", [account_principal]))
    service_delivery = delivery_by(Principal("Service", [ELB_LOG_DELIVERY_PRINCIPAL]))
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
            # awacs allows no Fn::If among statements; the one statement that differs is chosen in place
            PolicyDocument={"Version": "2012-10-17", "Id": "log-bucket-policy",
                            "Statement": [If(ELB_ACCOUNT_DELIVERY, delivery, service_delivery), flow_write, flow_acl, tls_only]},
        )
    )
