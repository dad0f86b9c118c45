"""The cluster layer: ECS cluster, container-instance IAM, launch template, ASG, scaling."""

from __future__ import annotations

from troposphere import (
    Base64,
    Equals,
    GetAtt,
    If,
    Not,
    Ref,
    Sub,
    Template,
    autoscaling,
    cloudwatch,
    ec2,
    ecs,
    iam,
)
from troposphere.policies import AutoScalingRollingUpdate, UpdatePolicy

from stack_cfn.blueprints import iam as policies
from stack_cfn.blueprints.common import (
    add_bool_param,
    add_export_prefix,
    add_ingress_all,
    add_key_param,
    add_name_params,
    add_output,
    add_param,
    all_traffic,
    is_true,
    new_template,
    tags,
)
from stack_cfn.blueprints.userdata import HAS_DOCKER_AUTH, user_data
from stack_cfn.model.config import StackConfig

ECS_AMI_SSM = "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id"
HAS_ECS_AMI = "HasEcsAmi"
SG_PATTERN = r"^sg-([0-9a-f]{8}|[0-9a-f]{17})$"

# (logical id, metric, comparison, threshold, policy): the seed's four alarms.
ALARMS = (
    ("CpuReservationHighAlarm", "CPUReservation", "GreaterThanOrEqualToThreshold", 90, "ScaleUpPolicy", "cpureservation-high"),
    ("MemoryReservationHighAlarm", "MemoryReservation", "GreaterThanOrEqualToThreshold", 90, "ScaleUpPolicy", "memoryreservation-high"),
    ("CpuReservationLowAlarm", "CPUReservation", "LessThanOrEqualToThreshold", 10, "ScaleDownPolicy", "cpureservation-low"),
    ("MemoryReservationLowAlarm", "MemoryReservation", "LessThanOrEqualToThreshold", 10, "ScaleDownPolicy", "memoryreservation-low"),
)


def build_cluster(cfg: StackConfig) -> Template:
    t = new_template(f"stack-cfn cluster: ECS on EC2, {cfg.ecs_scaling} scaling")
    name, env = add_name_params(t, cfg.name, cfg.environment)
    cluster_name = add_param(t, "EcsClusterName", cfg.cluster_name, "ECS cluster name", AllowedPattern=r"^[a-zA-Z][a-zA-Z0-9_-]*$", MaxLength=255)
    key_name = add_key_param(t, cfg.key_name)
    vpc_id = add_param(t, "VpcId", None, "The stack's VPC", "AWS::EC2::VPC::Id")
    subnets = add_param(t, "InternalSubnets", None, "Internal subnets the instances run in", "List<AWS::EC2::Subnet::Id>")
    sources = {
        key: add_param(t, key, None, desc, "AWS::EC2::SecurityGroup::Id")
        for key, desc in (
            ("InternalSsh", "Members may SSH to instances (the bastion)"),
            ("InternalElb", "Internal load balancers"),
            ("ExternalElb", "Public load balancers"),
        )
    }
    extra_sgs = [
        add_param(t, f"ExtraSecurityGroup{i + 1}", sg, "A further group whose members reach the instances", AllowedPattern=SG_PATTERN)
        for i, sg in enumerate(cfg.ecs_security_groups)
    ]
    ami = add_param(t, "EcsAmi", cfg.ecs_ami, "Custom AMI id (e.g. from packer/); empty uses the ECS-optimized AL2023 image", AllowedPattern=r"^$|^ami-([0-9a-f]{8}|[0-9a-f]{17})$")
    ami_ssm = add_param(t, "EcsAmiSsmParameter", ECS_AMI_SSM, "SSM parameter of the default ECS-optimized image", "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>")
    instance_type = add_param(t, "EcsInstanceType", cfg.ecs_instance_type, "Instance type", AllowedPattern=r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")
    add_bool_param(t, "EcsInstanceEbsOptimized", cfg.ecs_instance_ebs_optimized, "EBS-optimized instances")
    min_size = add_param(t, "EcsMinSize", cfg.ecs_min_size, "Minimum instances", "Number", MinValue=0)
    max_size = add_param(t, "EcsMaxSize", cfg.ecs_max_size, "Maximum instances", "Number", MinValue=1)
    desired = add_param(t, "EcsDesiredCapacity", cfg.ecs_desired_capacity, "Desired instances", "Number", MinValue=0)
    root_size = add_param(t, "EcsRootVolumeSize", cfg.ecs_root_volume_size, "Root volume GiB", "Number", MinValue=30, MaxValue=16384)
    docker_size = add_param(t, "EcsDockerVolumeSize", cfg.ecs_docker_volume_size, "Docker volume GiB", "Number", MinValue=1, MaxValue=16384)
    auth_type = add_param(t, "EcsDockerAuthType", cfg.ecs_docker_auth_type, "ECS_ENGINE_AUTH_TYPE (e.g. dockercfg); empty for none", AllowedValues=["", "docker", "dockercfg"])
    add_param(t, "EcsDockerAuthData", cfg.ecs_docker_auth_data, "ECS_ENGINE_AUTH_DATA (JSON on one line)", NoEcho=True, AllowedPattern=r"^[^\n\r]*$")
    add_param(t, "ExtraCloudConfigType", cfg.extra_cloud_config_type, "MIME type of the extra user-data part", AllowedPattern=r"^text/[a-z0-9.+-]+$")
    add_param(t, "ExtraCloudConfigContent", cfg.extra_cloud_config_content, "Extra user-data part")
    add_export_prefix(t)
    t.add_condition(HAS_ECS_AMI, Not(Equals(ami, "")))
    t.add_condition(HAS_DOCKER_AUTH, Not(Equals(auth_type, "")))
    t.add_condition("EcsEbsOptimizedOn", is_true("EcsInstanceEbsOptimized"))

    cluster = t.add_resource(
        ecs.Cluster(
            "Cluster",
            ClusterName=cluster_name,
            ClusterSettings=[ecs.ClusterSetting(Name="containerInsights", Value="enabled")],
            Tags=tags(name, env),
        )
    )
    sg = t.add_resource(
        ec2.SecurityGroup(
            "ClusterSecurityGroup",
            GroupDescription="ECS instances: all traffic from SSH, load balancer and extra groups",
            VpcId=vpc_id,
            SecurityGroupEgress=[all_traffic(CidrIp="0.0.0.0/0")],
            Tags=tags(Sub("ECS cluster (${EcsClusterName})"), env),
        )
    )
    for key, ref in sources.items():
        add_ingress_all(t, f"ClusterIngressFrom{key}", Ref(sg), f"All traffic from {key}", SourceSecurityGroupId=ref)
    for i, ref in enumerate(extra_sgs):
        add_ingress_all(t, f"ClusterIngressFromExtraSecurityGroup{i + 1}", Ref(sg), f"All traffic from extra group {i + 1}", SourceSecurityGroupId=ref)
    role = t.add_resource(
        iam.Role(
            "InstanceRole",
            AssumeRolePolicyDocument=policies.trust("ec2.amazonaws.com"),
            ManagedPolicyArns=[policies.SSM_MANAGED_POLICY],
            Policies=[
                iam.Policy(
                    PolicyName="ecs-container-instance",
                    PolicyDocument=policies.container_instance_policy(cluster_name, Sub("/${Name}/${Environment}")),
                )
            ],
            Tags=tags(name, env),
        )
    )
    profile = t.add_resource(iam.InstanceProfile("InstanceProfile", Roles=[Ref(role)]))
    service_role = t.add_resource(
        iam.Role(
            "EcsServiceRole",
            AssumeRolePolicyDocument=policies.trust("ecs.amazonaws.com"),
            Policies=[iam.Policy(PolicyName="ecs-service", PolicyDocument=policies.ecs_service_policy())],
            Tags=tags(name, env),
        )
    )
    volume = lambda device, size: ec2.LaunchTemplateBlockDeviceMapping(
        DeviceName=device, Ebs=ec2.EBSBlockDevice(VolumeType="gp3", VolumeSize=size, Encrypted=True, DeleteOnTermination=True)
    )
    launch_template = t.add_resource(
        ec2.LaunchTemplate(
            "LaunchTemplate",
            LaunchTemplateData=ec2.LaunchTemplateData(
                ImageId=If(HAS_ECS_AMI, ami, ami_ssm),
                InstanceType=instance_type,
                EbsOptimized=If("EcsEbsOptimizedOn", True, False),
                IamInstanceProfile=ec2.IamInstanceProfile(Arn=GetAtt(profile, "Arn")),
                KeyName=key_name,
                SecurityGroupIds=[Ref(sg)],
                UserData=Base64(user_data()),
                BlockDeviceMappings=[volume("/dev/xvda", root_size), volume("/dev/xvdcz", docker_size)],
                # Hop limit 2: bridge-mode containers are one hop further from the metadata service.
                MetadataOptions=ec2.MetadataOptions(HttpTokens="required", HttpPutResponseHopLimit=2, HttpEndpoint="enabled"),
                TagSpecifications=[
                    ec2.TagSpecifications(ResourceType="volume", Tags=tags(name, env, Cluster=cluster_name))
                ],
            ),
            TagSpecifications=[ec2.TagSpecifications(ResourceType="launch-template", Tags=tags(name, env))],
        )
    )
    managed = cfg.ecs_scaling == "managed"
    asg = t.add_resource(
        autoscaling.AutoScalingGroup(
            "AutoScalingGroup",
            VPCZoneIdentifier=subnets,
            LaunchTemplate=autoscaling.LaunchTemplateSpecification(
                LaunchTemplateId=Ref(launch_template), Version=GetAtt(launch_template, "LatestVersionNumber")
            ),
            MinSize=min_size,
            MaxSize=max_size,
            DesiredCapacity=desired,
            TerminationPolicies=["OldestLaunchTemplate", "Default"],
            NewInstancesProtectedFromScaleIn=managed,
            Tags=autoscaling.Tags(Name=name, Cluster=cluster_name, Environment=env),
            UpdatePolicy=UpdatePolicy(
                AutoScalingRollingUpdate=AutoScalingRollingUpdate(
                    MinInstancesInService=min_size, MaxBatchSize=1, PauseTime="PT5M", WaitOnResourceSignals=False
                )
            ),
        )
    )
    if managed:
        _managed_scaling(t, cluster, asg)
    else:
        _simple_scaling(t, asg, cluster_name)

    add_output(t, "Cluster", Ref(cluster), "ECS cluster name")
    add_output(t, "ClusterArn", GetAtt(cluster, "Arn"), "ECS cluster ARN")
    add_output(t, "EcsClusterSecurityGroupId", Ref(sg), "Security group of the container instances")
    add_output(t, "IamRole", GetAtt(service_role, "Arn"), "ECS service role ARN (classic ELB registration)")
    add_output(t, "IamRoleDefaultEcsRoleId", GetAtt(role, "RoleId"), "Container instance role id")
    add_output(t, "InstanceRoleArn", GetAtt(role, "Arn"), "Container instance role ARN")
    add_output(t, "InstanceProfile", Ref(profile), "Container instance profile")
    add_output(t, "AutoscalingGroup", Ref(asg), "Auto scaling group name")
    return t


def _simple_scaling(t: Template, asg: autoscaling.AutoScalingGroup, cluster_name: Ref) -> None:
    """The seed's behaviour: +1/-1 simple policies driven by reservation alarms."""
    for logical, adjustment in (("ScaleUpPolicy", 1), ("ScaleDownPolicy", -1)):
        t.add_resource(
            autoscaling.ScalingPolicy(
                logical,
                AutoScalingGroupName=Ref(asg),
                PolicyType="SimpleScaling",
                AdjustmentType="ChangeInCapacity",
                ScalingAdjustment=adjustment,
                Cooldown="300",
            )
        )
    previous = None
    for logical, metric, comparison, threshold, policy, suffix in ALARMS:
        alarm = cloudwatch.Alarm(
            logical,
            AlarmName=Sub(f"${{EcsClusterName}}-{suffix}"),
            AlarmDescription=f"Scale the cluster on {metric} {'>=' if threshold > 50 else '<='} {threshold}%",
            Namespace="AWS/ECS",
            MetricName=metric,
            Dimensions=[cloudwatch.MetricDimension(Name="ClusterName", Value=cluster_name)],
            Statistic="Maximum",
            Period=300,
            EvaluationPeriods=2,
            Threshold=threshold,
            ComparisonOperator=comparison,
            AlarmActions=[Ref(policy)],
        )
        # The seed chained the alarms: AWS rejected concurrent alarm changes.
        if previous is not None:
            alarm.DependsOn = [previous]
        t.add_resource(alarm)
        previous = logical


def _managed_scaling(t: Template, cluster: ecs.Cluster, asg: autoscaling.AutoScalingGroup) -> None:
    """An ECS capacity provider scales the ASG to what tasks need and drains instances."""
    provider = t.add_resource(
        ecs.CapacityProvider(
            "CapacityProvider",
            AutoScalingGroupProvider=ecs.AutoScalingGroupProvider(
                AutoScalingGroupArn=Ref(asg),
                ManagedScaling=ecs.ManagedScaling(Status="ENABLED", TargetCapacity=100),
                ManagedTerminationProtection="ENABLED",
                ManagedDraining="ENABLED",
            ),
        )
    )
    t.add_resource(
        ecs.ClusterCapacityProviderAssociations(
            "ClusterCapacityProviders",
            Cluster=Ref(cluster),
            CapacityProviders=[Ref(provider)],
            DefaultCapacityProviderStrategy=[ecs.CapacityProviderStrategy(CapacityProvider=Ref(provider), Weight=1)],
        )
    )
