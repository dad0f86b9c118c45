"""The bastion layer's contract (bastion.json), beside its builder bastion.py."""

from __future__ import annotations

from stack_cfn.blueprints.cluster_contract import Cluster
from stack_cfn.blueprints.contract import Out, Param, Wired
from stack_cfn.blueprints.layer_contract import SG, Layer
from stack_cfn.blueprints.network_contract import Network
from stack_cfn.model import rules as R
from stack_cfn.model.config import StackConfig

UBUNTU_AMI_SSM = "/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id"


class Bastion(Layer[StackConfig]):
    logical_id = "BastionStack"
    filename = "bastion.json"

    @classmethod
    def present(cls, shape: StackConfig) -> bool:
        return shape.bastion

    KeyName = Cluster.KeyName
    SubnetId = Param("External subnet for the bastion", "AWS::EC2::Subnet::Id", supply=Wired(lambda c: Network.Outputs.ExternalSubnets, first_item=True))
    ExternalSsh = Param("Group admitting SSH from the allowed range", SG, supply=Wired(lambda c: Network.Outputs.ExternalSsh))
    InternalSsh = Param("Group whose members the instances admit SSH from", SG, supply=Wired(lambda c: Network.Outputs.InternalSsh))
    BastionInstanceType = Param("Bastion instance type", setting="bastion_instance_type")
    BastionAmi = Param("Custom AMI id; empty uses Canonical's current Ubuntu LTS", setting="bastion_ami")
    # A plain String resolved by a dynamic reference, only when BastionAmi is
    # empty: an SSM-typed parameter is resolved on every deploy, even when an
    # AMI is given, and fails where the public parameter is missing.
    BastionAmiSsmParameter = Param("SSM parameter naming the default image (Canonical's Ubuntu LTS)",
                                   rule=R.Pattern(r"/[A-Za-z0-9_./-]+", "an SSM parameter name", "write it like /aws/service/..."), default=UBUNTU_AMI_SSM)
    BastionRootVolumeSize = Param("Bastion root volume GiB", "Number", setting="bastion_root_volume_size")

    class Outputs:
        BastionIp = Out("Public IP of the bastion: ssh -A ubuntu@<ip>")
        BastionInstanceId = Out("Bastion instance id, for aws ssm start-session")
