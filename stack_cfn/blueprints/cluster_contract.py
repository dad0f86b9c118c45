"""The cluster layer's contract (cluster.json), beside its builder cluster.py."""

from __future__ import annotations

from stack_cfn.blueprints.contract import Out, Param, ParamFamily, Wired
from stack_cfn.blueprints.layer_contract import SG, SSM_IMAGE, Layer, alarmed
from stack_cfn.blueprints.network_contract import Network
from stack_cfn.model import rules as R
from stack_cfn.model.config import StackConfig

ECS_AMI_SSM = "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id"


class Cluster(Layer[StackConfig]):
    logical_id = "ClusterStack"
    filename = "cluster.json"

    EcsClusterName = Param("ECS cluster name; empty uses <Name>-<Environment>", setting="ecs_cluster_name")
    KeyName = Param("EC2 key pair for SSH to the instances; empty for none (Session Manager reaches them)", setting="key_name")
    AllowContainerImds = Param("true: containers may reach the instance metadata service (hop limit 2, no block)", setting="allow_container_imds")
    VpcId = Param("The stack's VPC", "AWS::EC2::VPC::Id", supply=Wired(lambda c: Network.Outputs.VpcId))
    InternalSubnets = Param("Internal subnets the instances run in", "List<AWS::EC2::Subnet::Id>", supply=Wired(lambda c: Network.Outputs.InternalSubnets))
    InternalSsh = Param("Members may SSH to instances (the bastion)", SG, supply=Wired(lambda c: Network.Outputs.InternalSsh))
    InternalElb = Param("Internal load balancers", SG, supply=Wired(lambda c: Network.Outputs.InternalElb))
    ExternalElb = Param("Public load balancers", SG, supply=Wired(lambda c: Network.Outputs.ExternalElb))
    ExtraSecurityGroup = ParamFamily("ExtraSecurityGroup{}", "A further group whose members reach the instances",
                                     lambda c: len(c.ecs_security_groups), lambda c, i: c.ecs_security_groups[i], rule=R.SG_ID)
    EcsAmi = Param("Custom AMI id (e.g. from packer/); empty uses the ECS-optimized AL2023 image", setting="ecs_ami")
    EcsAmiSsmParameter = Param("SSM parameter of the default ECS-optimized image", SSM_IMAGE, default=ECS_AMI_SSM)
    # CloudFormation resolves an SSM-typed parameter again on every stack update, so an image read through
    # EcsAmiSsmParameter changes (and rolls the fleet) whenever AWS publishes one. stack-cfn deploy passes the
    # image it chose (ship/ami.py: the running one, or today's on a first deploy) here instead.
    EcsStockAmi = Param("The ECS-optimized image id the instances run, chosen by stack-cfn deploy and kept until changed on purpose; "
                        "empty resolves EcsAmiSsmParameter on every update", rule=R.AMI_ID.with_optional(), default="")
    EcsInstanceType = Param("Instance type", setting="ecs_instance_type")
    EcsInstanceEbsOptimized = Param("EBS-optimized instances", setting="ecs_instance_ebs_optimized")
    EcsMinSize = Param("Minimum instances", "Number", setting="ecs_min_size")
    EcsMaxSize = Param("Maximum instances", "Number", setting="ecs_max_size")
    EcsRootVolumeSize = Param("Root volume GiB", "Number", setting="ecs_root_volume_size")
    EcsDockerVolumeSize = Param("Docker volume GiB (attached with a custom EcsAmi only)", "Number", setting="ecs_docker_volume_size",
                                when=lambda c: bool(c.ecs_ami))
    EcsDockerAuthType = Param("ECS_ENGINE_AUTH_TYPE (e.g. dockercfg); empty for none", setting="ecs_docker_auth_type")
    EcsDockerAuthSecretArn = Param("Secrets Manager secret with ECS_ENGINE_AUTH_DATA, read by the instance at boot", setting="ecs_docker_auth_secret_arn")
    ExtraCloudConfigType = Param("MIME type of the extra user-data part", setting="extra_cloud_config_type")
    ExtraCloudConfigContent = Param("Extra user-data part", setting="extra_cloud_config_content")
    AlarmTopic = Param("SNS topic of the cluster's alarms and notifications", supply=Wired(lambda c: Network.Outputs.AlarmTopic), when=alarmed)

    class Outputs:
        Cluster = Out("ECS cluster name")
        ClusterArn = Out("ECS cluster ARN")
        EcsClusterSecurityGroupId = Out("Security group of the container instances")
        IamRole = Out("ECS service role ARN (classic ELB registration)", when=lambda c: c.has_classic_services)
        IamRoleDefaultEcsRoleId = Out("Container instance role id")
        InstanceRoleArn = Out("Container instance role ARN")
        InstanceProfile = Out("Container instance profile")
        AutoscalingGroup = Out("Auto scaling group name")
        CapacityProvider = Out("ECS capacity provider of the instances: every service's capacity provider strategy")
