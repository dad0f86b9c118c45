"""The network layer's contract (network.json), beside its builder network.py."""

from __future__ import annotations

from stack_cfn.blueprints.contract import Out, Param, ParamFamily
from stack_cfn.blueprints.layer_contract import ALARM_TOPIC, SSM_IMAGE, Layer, alarmed
from stack_cfn.model import alarms as ALARM
from stack_cfn.model import rules as R
from stack_cfn.model.config import StackConfig

NAT_AMI_SSM = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"


class Network(Layer[StackConfig]):
    logical_id = "NetworkStack"
    filename = "network.json"

    Cidr = Param("VPC CIDR (a private /16 by default)", rule=R.CIDR_SHAPE, default=lambda c: str(c.plan.vpc))
    InternalSubnetCidr = ParamFamily("InternalSubnet{}Cidr", "CIDR of internal subnet {}", lambda c: c.zone_count,
                                     lambda c, i: str(c.plan.internal[i]), rule=R.CIDR_SHAPE)
    ExternalSubnetCidr = ParamFamily("ExternalSubnet{}Cidr", "CIDR of external subnet {}", lambda c: c.zone_count,
                                     lambda c, i: str(c.plan.external[i]), rule=R.CIDR_SHAPE)
    AvailabilityZone = ParamFamily("AvailabilityZone{}", "Availability zone {0}; empty picks the region's zone number {0}", lambda c: c.zone_count,
                                   lambda c, i: c.availability_zones[i] if c.availability_zones else "", rule=R.AZ_NAME.with_optional())
    DomainName = Param("Private DNS zone and DHCP search domain", setting="domain_name")
    SshCidr = Param("Who may reach the bastion on port 22; empty: nobody (use Session Manager)", setting="ssh_cidr")
    FlowLogs = Param("true: VPC flow logs to the log bucket", setting="flow_logs")
    UseNatInstances = Param("true: one NAT EC2 instance per AZ instead of NAT gateways", setting="use_nat_instances")
    UseEipWithNatInstances = Param("true: give NAT instances Elastic IPs", setting="use_eip_with_nat_instances")
    NatInstanceType = Param("NAT instance type", setting="nat_instance_type")
    NatInstanceAmi = Param("SSM parameter (or AMI id) of the NAT instance image", SSM_IMAGE, default=NAT_AMI_SSM)
    NatGateways = Param("per_zone: a NAT gateway in every AZ; one: a single NAT gateway (in AZ 1) for every AZ", setting="nat_gateways")
    S3Endpoint = Param("true: an S3 gateway endpoint on the internal route tables", setting="s3_endpoint")
    LogsExpirationEnabled = Param("true: expire load balancer logs", setting="logs_expiration_enabled")
    LogsExpirationDays = Param("Days before logs expire", "Number", setting="logs_expiration_days")
    LogBucketName = Param("Log bucket name; empty lets CloudFormation pick a unique one", setting="log_bucket_name")
    AlarmTopicArn = Param("An existing SNS topic alarms notify; empty: this stack makes one", rule=ALARM_TOPIC,
                          default=lambda c: c.alarms.topic_arn, when=alarmed)
    NatPortErrors = Param("Alarm on this many NAT gateway port-allocation errors in 5 minutes", "Number", rule=ALARM.PORT_ERRORS,
                          default=lambda c: c.alarms.nat_port_errors, when=alarmed)

    class Outputs:
        VpcId = Out("The VPC")
        Cidr = Out("The VPC's CIDR")
        InternalSubnets = Out("Internal subnet ids, comma separated, in AZ order")
        ExternalSubnets = Out("External subnet ids, comma separated, in AZ order")
        AvailabilityZones = Out("Availability zones, comma separated, in subnet order")
        InternalRouteTables = Out("Internal route table ids, comma separated")
        ExternalRouteTables = Out("The external route table id")
        ZoneId = Out("The private hosted zone")
        DomainName = Out("The private domain, e.g. stack.local")
        InternalElb = Out("Security group of internal load balancers")
        ExternalElb = Out("Security group of public load balancers")
        ExternalSsh = Out("Security group admitting SSH from the allowed range")
        InternalSsh = Out("Security group admitting SSH from the bastion")
        VpcSecurityGroup = Out("The VPC's default security group")
        LogBucketId = Out("Bucket of load balancer access logs")
        InternalNatIps = Out("Public IPs that internal traffic leaves from")
        AlarmTopic = Out("SNS topic every alarm of the stack notifies", when=alarmed)
