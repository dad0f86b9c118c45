"""The bastion: an SSH jump host in the first external subnet, also reachable by SSM."""

from __future__ import annotations

from troposphere import Equals, If, Not, NoValue, Ref, Sub, Template, ec2, iam

from stack_cfn.blueprints import iam as policies
from stack_cfn.blueprints.bastion_contract import Bastion as B
from stack_cfn.blueprints.common import add_export_prefix_condition, emit, new_template, tags
from stack_cfn.blueprints.contract import declare
from stack_cfn.model.config import StackConfig

HAS_BASTION_AMI = "HasBastionAmi"
HAS_KEY_NAME = "HasKeyName"


def build_bastion(cfg: StackConfig) -> Template:
    t = new_template("stack-cfn bastion: SSH jump host with an Elastic IP and SSM Session Manager")
    p = declare(t, B, cfg)
    add_export_prefix_condition(t)
    t.add_condition(HAS_BASTION_AMI, Not(Equals(p[B.BastionAmi], "")))
    t.add_condition(HAS_KEY_NAME, Not(Equals(p[B.KeyName], "")))
    role = t.add_resource(iam.Role(
        "BastionRole", AssumeRolePolicyDocument=policies.trust("ec2.amazonaws.com"),
        Policies=[iam.Policy(PolicyName="session-manager", PolicyDocument=policies.session_manager_policy())], Tags=tags(p[B.Name], p[B.Environment])))
    profile = t.add_resource(iam.InstanceProfile("BastionInstanceProfile", Roles=[Ref(role)]))
    root_volume = ec2.EbsBlockDevice(VolumeType="gp3", VolumeSize=p[B.BastionRootVolumeSize], Encrypted=True, DeleteOnTermination=True)
    instance = t.add_resource(ec2.Instance(
        "Bastion",
        ImageId=If(HAS_BASTION_AMI, p[B.BastionAmi], Sub(f"{{{{resolve:ssm:${{{B.BastionAmiSsmParameter.name}}}}}}}")),
        InstanceType=p[B.BastionInstanceType],
        KeyName=If(HAS_KEY_NAME, p[B.KeyName], NoValue),
        SubnetId=p[B.SubnetId],
        SecurityGroupIds=[p[B.ExternalSsh], p[B.InternalSsh]],
        IamInstanceProfile=Ref(profile),
        Monitoring=True,
        MetadataOptions=ec2.MetadataOptions(HttpTokens="required", HttpPutResponseHopLimit=1, HttpEndpoint="enabled"),
        # No EbsOptimized (as the NAT instances, network.py): types without it refuse true; current ones have it by default.
        BlockDeviceMappings=[ec2.BlockDeviceMapping(DeviceName="/dev/sda1", Ebs=root_volume)],
        Tags=tags("bastion", p[B.Environment], Stack=p[B.Name]),
    ))
    eip = t.add_resource(ec2.EIP("BastionEip", Domain="vpc", InstanceId=Ref(instance), Tags=tags("bastion", p[B.Environment])))
    emit(t, B.Outputs.BastionIp, Ref(eip))
    emit(t, B.Outputs.BastionInstanceId, Ref(instance))
    return t
