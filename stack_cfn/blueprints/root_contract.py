"""The root's own outputs (the seed's 19, in its order), read by root.py through registry.ROOT_CONTRACT."""

from __future__ import annotations

from troposphere import Ref, Region

from stack_cfn.blueprints.bastion_contract import Bastion
from stack_cfn.blueprints.cluster_contract import Cluster
from stack_cfn.blueprints.contract import Contract, Out
from stack_cfn.blueprints.layer_contract import Layer
from stack_cfn.blueprints.network_contract import Network
from stack_cfn.model.config import StackConfig


class Root(Contract[StackConfig]):
    """The root's outputs: the seed's 19, in its order; Region and Environment are the root's own."""

    class Outputs:
        Region = Out("AWS region of the stack", source=lambda: Region)
        BastionIp = Out("Public IP of the bastion", export=False, source=lambda: Bastion.Outputs.BastionIp, when=lambda c: c.bastion)
        ZoneId = Out("Private hosted zone id", export=False, source=lambda: Network.Outputs.ZoneId)
        InternalElb = Out("Security group of internal load balancers", export=False, source=lambda: Network.Outputs.InternalElb)
        ExternalElb = Out("Security group of public load balancers", export=False, source=lambda: Network.Outputs.ExternalElb)
        InternalSubnets = Out("Internal subnet ids, comma separated", export=False, source=lambda: Network.Outputs.InternalSubnets)
        ExternalSubnets = Out("External subnet ids, comma separated", export=False, source=lambda: Network.Outputs.ExternalSubnets)
        IamRole = Out("ECS service role ARN", export=False, source=lambda: Cluster.Outputs.IamRole, when=lambda c: c.has_classic_services)
        IamRoleDefaultEcsRoleId = Out("Container instance role id", export=False, source=lambda: Cluster.Outputs.IamRoleDefaultEcsRoleId)
        LogBucketId = Out("Bucket of load balancer access logs", export=False, source=lambda: Network.Outputs.LogBucketId)
        DomainName = Out("Private domain", export=False, source=lambda: Network.Outputs.DomainName)
        Environment = Out("Environment name", source=lambda: Ref(Layer.Environment.name))
        Cluster = Out("ECS cluster name", export=False, source=lambda: Cluster.Outputs.Cluster)
        AvailabilityZones = Out("Availability zones, comma separated", export=False, source=lambda: Network.Outputs.AvailabilityZones)
        VpcSecurityGroup = Out("The VPC's default security group", export=False, source=lambda: Network.Outputs.VpcSecurityGroup)
        VpcId = Out("The VPC", export=False, source=lambda: Network.Outputs.VpcId)
        EcsClusterSecurityGroupId = Out("Security group of the container instances", export=False, source=lambda: Cluster.Outputs.EcsClusterSecurityGroupId)
        InternalRouteTables = Out("Internal route tables, comma separated", export=False, source=lambda: Network.Outputs.InternalRouteTables)
        ExternalRouteTables = Out("External route table", export=False, source=lambda: Network.Outputs.ExternalRouteTables)
