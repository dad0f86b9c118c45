"""The bastion: an SSH jump host in the first external subnet, also reachable by SSM."""

from __future__ import annotations

from troposphere import Equals, If, Not, Ref, Sub, Template, ec2, iam

from stack_cfn.blueprints import iam as policies
from stack_cfn.blueprints.common import (
    add_export_prefix,
    add_key_param,
    add_name_params,
    add_output,
    add_param,
    new_template,
    tags,
)
from stack_cfn.model.config import StackConfig

UBUNTU_AMI_SSM = "/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id"
HAS_BASTION_AMI = "HasBastionAmi"


def build_bastion(cfg: StackConfig) -> Template:
    t = new_template("stack-cfn bastion: SSH jump host with an Elastic IP and SSM Session Manager")
    name, env = add_name_params(t, cfg.name, cfg.environment)
    key_name = add_key_param(t, cfg.key_name)
    subnet = add_param(t, "SubnetId", None, "External subnet for the bastion", "AWS::EC2::Subnet::Id")
    external_ssh = add_param(t, "ExternalSsh", None, "Group admitting SSH from the allowed range", "AWS::EC2::SecurityGroup::Id")
    internal_ssh = add_param(t, "InternalSsh", None, "Group whose members the instances admit SSH from", "AWS::EC2::SecurityGroup::Id")
    instance_type = add_param(t, "BastionInstanceType", cfg.bastion_instance_type, "Bastion instance type", AllowedPattern=r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")
    ami = add_param(t, "BastionAmi", cfg.bastion_ami, "Custom AMI id; empty uses Canonical's current Ubuntu LTS", AllowedPattern=r"^$|^ami-([0-9a-f]{8}|[0-9a-f]{17})$")
    # A plain String resolved by a dynamic reference, only when BastionAmi is
    # empty: an SSM-typed parameter is resolved on every deploy, even when an
    # AMI is given, and fails where the public parameter is missing (the local
    # AWS has no Canonical parameters).
    add_param(t, "BastionAmiSsmParameter", UBUNTU_AMI_SSM, "SSM parameter naming the default image (Canonical's Ubuntu LTS)", AllowedPattern=r"^/[A-Za-z0-9_./-]+$")
    root_size = add_param(t, "BastionRootVolumeSize", 16, "Bastion root volume GiB", "Number", MinValue=8, MaxValue=1024)
    add_export_prefix(t)
    t.add_condition(HAS_BASTION_AMI, Not(Equals(ami, "")))

    role = t.add_resource(
        iam.Role(
            "BastionRole",
            AssumeRolePolicyDocument=policies.trust("ec2.amazonaws.com"),
            ManagedPolicyArns=[policies.SSM_MANAGED_POLICY],
            Tags=tags(name, env),
        )
    )
    profile = t.add_resource(iam.InstanceProfile("BastionInstanceProfile", Roles=[Ref(role)]))
    instance = t.add_resource(
        ec2.Instance(
            "Bastion",
            ImageId=If(HAS_BASTION_AMI, ami, Sub("{{resolve:ssm:${BastionAmiSsmParameter}}}")),
            InstanceType=instance_type,
            KeyName=key_name,
            SubnetId=subnet,
            SecurityGroupIds=[external_ssh, internal_ssh],
            IamInstanceProfile=Ref(profile),
            Monitoring=True,
            MetadataOptions=ec2.MetadataOptions(HttpTokens="required", HttpEndpoint="enabled"),
            BlockDeviceMappings=[
                ec2.BlockDeviceMapping(DeviceName="/dev/sda1", Ebs=ec2.EbsBlockDevice(VolumeType="gp3", VolumeSize=root_size, Encrypted=True, DeleteOnTermination=True))
            ],
            Tags=tags("bastion", env, Stack=name),
        )
    )
    eip = t.add_resource(ec2.EIP("BastionEip", Domain="vpc", InstanceId=Ref(instance), Tags=tags("bastion", env)))
    add_output(t, "BastionIp", Ref(eip), "Public IP of the bastion: ssh -A ubuntu@<ip>")
    add_output(t, "BastionInstanceId", Ref(instance), "Bastion instance id, for aws ssm start-session")
    return t
