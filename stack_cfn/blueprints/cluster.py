"""The cluster layer: ECS cluster, container-instance IAM, launch template, ASG, scaling."""

from __future__ import annotations

from troposphere import (
    Base64,
    Equals,
    GetAtt,
    If,
    Join,
    Not,
    NoValue,
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
from stack_cfn.blueprints.alarms import cluster_alarms
from stack_cfn.blueprints.cluster_contract import Cluster as C
from stack_cfn.blueprints.common import add_export_prefix_condition, add_ingress_all, all_traffic, emit, is_true, new_template, tags
from stack_cfn.blueprints.contract import Declared, declare
from stack_cfn.blueprints.userdata import ALLOW_CONTAINER_IMDS, HAS_DOCKER_AUTH, user_data
from stack_cfn.model import aws_facts as F
from stack_cfn.model import names
from stack_cfn.model.config import StackConfig

HAS_ECS_AMI = "HasEcsAmi"
HAS_STOCK_AMI = "HasEcsStockAmi"
HAS_CLUSTER_NAME = "HasEcsClusterName"
HAS_KEY_NAME = "HasKeyName"
EBS_OPTIMIZED = "EcsEbsOptimizedOn"

# (logical id, metric, comparison, threshold, policy, alarm name suffix): the seed's four alarms.
ALARMS = (
    ("CpuReservationHighAlarm", "CPUReservation", "GreaterThanOrEqualToThreshold", 90, "ScaleUpPolicy", "cpureservation-high"),
    ("MemoryReservationHighAlarm", "MemoryReservation", "GreaterThanOrEqualToThreshold", 90, "ScaleUpPolicy", "memoryreservation-high"),
    ("CpuReservationLowAlarm", "CPUReservation", "LessThanOrEqualToThreshold", 10, "ScaleDownPolicy", "cpureservation-low"),
    ("MemoryReservationLowAlarm", "MemoryReservation", "LessThanOrEqualToThreshold", 10, "ScaleDownPolicy", "memoryreservation-low"),
)


# ECS refuses a capacity provider name that starts with these (AWS::ECS::CapacityProvider, Name: "If a name is
# specified, it cannot start with aws, ecs, or fargate"; aws-cdk#29151). Left unnamed, CloudFormation names it
# <stack>-CapacityProvider-<random>, and the cluster layer's stack name starts with the root's.
REFUSED_PROVIDER_PREFIXES = F.CAPACITY_PROVIDER_NAME.forbidden_prefixes
CAPACITY_PROVIDER_PREFIX = F.CAPACITY_PROVIDER_PREFIX
CAPACITY_PROVIDER_NAME_MAX = F.CAPACITY_PROVIDER_NAME.max_length


def cluster_name(p: Declared) -> If:
    """EcsClusterName, or <Name>-<Environment> when it is empty: two environments of one name share an account
    and region without sharing a cluster (nor the alarm names derived from it)."""
    return If(HAS_CLUSTER_NAME, p[C.EcsClusterName], Join("-", [p[C.Name], p[C.Environment]]))


def provider_needs_name(stack_name: str) -> bool:
    """Whether CloudFormation's own name for the capacity provider (from `stack_name`) would be refused by ECS."""
    return names.provider_needs_name(stack_name)


def build_cluster(cfg: StackConfig) -> Template:
    t = new_template(f"stack-cfn cluster: ECS on EC2, {cfg.ecs_scaling} scaling")
    p = declare(t, C, cfg)
    add_export_prefix_condition(t)
    t.add_condition(HAS_ECS_AMI, Not(Equals(p[C.EcsAmi], "")))
    t.add_condition(HAS_STOCK_AMI, Not(Equals(p[C.EcsStockAmi], "")))
    t.add_condition(HAS_DOCKER_AUTH, Not(Equals(p[C.EcsDockerAuthSecretArn], "")))
    t.add_condition(HAS_KEY_NAME, Not(Equals(p[C.KeyName], "")))
    t.add_condition(ALLOW_CONTAINER_IMDS, is_true(p[C.AllowContainerImds]))
    t.add_condition(EBS_OPTIMIZED, is_true(p[C.EcsInstanceEbsOptimized]))
    t.add_condition(HAS_CLUSTER_NAME, Not(Equals(p[C.EcsClusterName], "")))
    cluster = t.add_resource(ecs.Cluster(
        "Cluster", ClusterName=cluster_name(p), ClusterSettings=[ecs.ClusterSetting(Name="containerInsights", Value="enabled")],
        Tags=tags(p[C.Name], p[C.Environment])))
    name = Ref(cluster)  # the cluster's name, whichever way it was chosen
    sg = _security_group(t, p, cfg)
    role, profile = _instance_role(t, p, name)
    launch_template = _launch_template(t, p, sg, profile, name, docker_volume=bool(cfg.ecs_ami))
    managed = cfg.ecs_scaling == "managed"
    # No DesiredCapacity: CloudFormation sends it with every update of the group, resetting what scaling chose
    # (AWS::AutoScaling::AutoScalingGroup, DesiredCapacity: "defaults to the minimum size" when absent). The group
    # starts at MinSize; the alarms (simple) or ECS (managed) size it after. No scale-in protection either: see
    # _capacity_provider. MinInstancesInService < MaxSize is the model's (ecs_min_size below ecs_max_size).
    asg = t.add_resource(autoscaling.AutoScalingGroup(
        "AutoScalingGroup", VPCZoneIdentifier=p[C.InternalSubnets],
        LaunchTemplate=autoscaling.LaunchTemplateSpecification(LaunchTemplateId=Ref(launch_template), Version=GetAtt(launch_template, "LatestVersionNumber")),
        MinSize=p[C.EcsMinSize], MaxSize=p[C.EcsMaxSize],
        TerminationPolicies=["OldestLaunchTemplate", "Default"],
        Tags=autoscaling.Tags(Name=p[C.Name], Cluster=name, Environment=p[C.Environment]),
        UpdatePolicy=UpdatePolicy(AutoScalingRollingUpdate=AutoScalingRollingUpdate(
            MinInstancesInService=p[C.EcsMinSize], MaxBatchSize=1, PauseTime="PT5M", WaitOnResourceSignals=False))))
    provider = _capacity_provider(t, cluster, asg, managed, named=provider_needs_name(cfg.name))
    if cfg.alarms:
        cluster_alarms(t, p, asg, cfg.alarms.asg_notifications)
    if not managed:
        _simple_scaling(t, asg, name)
    if C.Outputs.IamRole.when(cfg):
        emit(t, C.Outputs.IamRole, GetAtt(_service_role(t, p), "Arn"))
    for out, value in (
        (C.Outputs.Cluster, Ref(cluster)), (C.Outputs.ClusterArn, GetAtt(cluster, "Arn")), (C.Outputs.EcsClusterSecurityGroupId, Ref(sg)),
        (C.Outputs.IamRoleDefaultEcsRoleId, GetAtt(role, "RoleId")),
        (C.Outputs.InstanceRoleArn, GetAtt(role, "Arn")), (C.Outputs.InstanceProfile, Ref(profile)), (C.Outputs.AutoscalingGroup, Ref(asg)),
        (C.Outputs.CapacityProvider, Ref(provider)),
    ):
        emit(t, out, value)
    return t


def _security_group(t: Template, p: Declared, cfg: StackConfig) -> ec2.SecurityGroup:
    """The instances' group: all traffic from the SSH, load balancer and extra groups."""
    sg = t.add_resource(ec2.SecurityGroup(
        "ClusterSecurityGroup", GroupDescription="ECS instances: all traffic from SSH, load balancer and extra groups", VpcId=p[C.VpcId],
        SecurityGroupEgress=[all_traffic(CidrIp="0.0.0.0/0", Description="All traffic out")], Tags=tags(Sub("ECS cluster (${Cluster})"), p[C.Environment])))
    t.add_resource(ec2.SecurityGroupIngress(
        f"ClusterIngressFrom{C.InternalSsh.name}", GroupId=Ref(sg), IpProtocol="tcp", FromPort=22, ToPort=22, Description="SSH from the bastion",
        SourceSecurityGroupId=p[C.InternalSsh]))
    for source in (C.InternalElb, C.ExternalElb):
        add_ingress_all(t, f"ClusterIngressFrom{source.name}", Ref(sg), f"All traffic from {source.name}", SourceSecurityGroupId=p[source])
    for i in range(len(cfg.ecs_security_groups)):
        add_ingress_all(t, f"ClusterIngressFromExtraSecurityGroup{i + 1}", Ref(sg), f"All traffic from extra group {i + 1}",
                        SourceSecurityGroupId=p[C.ExtraSecurityGroup.at(i)])
    return sg


def _instance_role(t: Template, p: Declared, cluster: Ref) -> tuple[iam.Role, iam.InstanceProfile]:
    """The container instances' role and profile: the agent for this cluster, Session Manager, the docker auth secret if any."""
    agent = iam.Policy(PolicyName="ecs-container-instance", PolicyDocument=policies.container_instance_policy(cluster))
    role = t.add_resource(iam.Role(
        "InstanceRole", AssumeRolePolicyDocument=policies.trust("ec2.amazonaws.com"), Policies=[agent], Tags=tags(p[C.Name], p[C.Environment])))
    t.add_resource(iam.PolicyType(
        "DockerAuthSecretPolicy", Condition=HAS_DOCKER_AUTH, PolicyName="docker-auth-secret", Roles=[Ref(role)],
        PolicyDocument=policies.read_secret_policy(p[C.EcsDockerAuthSecretArn])))
    return role, t.add_resource(iam.InstanceProfile("InstanceProfile", Roles=[Ref(role)]))


def _service_role(t: Template, p: Declared) -> iam.Role:
    """The ECS service role, only for stacks with a classic-ELB service (others use ECS's service-linked role)."""
    return t.add_resource(iam.Role(
        "EcsServiceRole", AssumeRolePolicyDocument=policies.trust("ecs.amazonaws.com"),
        Policies=[iam.Policy(PolicyName="ecs-service", PolicyDocument=policies.ecs_service_policy())], Tags=tags(p[C.Name], p[C.Environment])))


def _launch_template(t: Template, p: Declared, sg: ec2.SecurityGroup, profile: iam.InstanceProfile, cluster: Ref,
                     docker_volume: bool) -> ec2.LaunchTemplate:
    """The instances' launch template. The docker volume (/dev/xvdcz) only with a custom AMI: packer/'s image mounts it
    at /var/lib/docker (stack-cfn-docker-volume.service); the stock ECS-optimized AL2023 image never does and keeps
    docker on its root volume, so there the volume would be paid for and unused."""
    volume = lambda device, size: ec2.LaunchTemplateBlockDeviceMapping(
        DeviceName=device, Ebs=ec2.EBSBlockDevice(VolumeType="gp3", VolumeSize=size, Encrypted=True, DeleteOnTermination=True))
    volumes = [volume("/dev/xvda", p[C.EcsRootVolumeSize])] + ([volume("/dev/xvdcz", p[C.EcsDockerVolumeSize])] if docker_volume else [])
    env_tags = tags(p[C.Name], p[C.Environment])
    return t.add_resource(ec2.LaunchTemplate(
        "LaunchTemplate",
        LaunchTemplateData=ec2.LaunchTemplateData(
            ImageId=If(HAS_ECS_AMI, p[C.EcsAmi], If(HAS_STOCK_AMI, p[C.EcsStockAmi], p[C.EcsAmiSsmParameter])),
            InstanceType=p[C.EcsInstanceType],
            EbsOptimized=If(EBS_OPTIMIZED, True, False),
            IamInstanceProfile=ec2.IamInstanceProfile(Arn=GetAtt(profile, "Arn")),
            KeyName=If(HAS_KEY_NAME, p[C.KeyName], NoValue),
            SecurityGroupIds=[Ref(sg)],
            UserData=Base64(user_data()),
            BlockDeviceMappings=volumes,
            # Hop limit 1: bridge-mode containers, one hop further, get no token (unless allow_container_imds).
            MetadataOptions=ec2.MetadataOptions(HttpTokens="required", HttpPutResponseHopLimit=If(ALLOW_CONTAINER_IMDS, 2, 1), HttpEndpoint="enabled"),
            TagSpecifications=[ec2.TagSpecifications(ResourceType="volume", Tags=tags(p[C.Name], p[C.Environment], Cluster=cluster))],
        ),
        TagSpecifications=[ec2.TagSpecifications(ResourceType="launch-template", Tags=env_tags)],
    ))


def _simple_scaling(t: Template, asg: autoscaling.AutoScalingGroup, cluster_name: object) -> None:
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
            AlarmName=Sub(f"${{Cluster}}-{suffix}"),
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


def _capacity_provider(t: Template, cluster: ecs.Cluster, asg: autoscaling.AutoScalingGroup, managed: bool, named: bool) -> ecs.CapacityProvider:
    """The instances' capacity provider, every service's strategy (service.py). ECS managed instance draining in
    both scaling modes: before the ASG terminates an instance (scale-in, an AMI or instance-type rolling update,
    instance refresh) ECS drains it, and its tasks start elsewhere first. Managed, the provider also scales the
    group to what tasks need.

    Managed termination protection stays off, and so does the group's scale-in protection: ECS sets
    ProtectedFromScaleIn on the instances and never clears it when the provider goes, so CloudFormation deletes
    the association, then the provider, and then waits forever for a group that cannot terminate its instances
    (aws-cdk#18179 and #14732, whose workaround is this; containers-roadmap#2862). Managed draining already moves
    the tasks of an instance before it is terminated, which is what the protection was for.

    `named`: CloudFormation's own name would start with the stack's, which ECS refuses for aws/ecs/fargate; then
    cp-<the group's name>, which changes whenever the group is replaced (a provider cannot be replaced under the
    same name, nor share a group with another provider)."""
    provider = t.add_resource(
        ecs.CapacityProvider(
            "CapacityProvider",
            AutoScalingGroupProvider=ecs.AutoScalingGroupProvider(
                AutoScalingGroupArn=Ref(asg),
                ManagedScaling=ecs.ManagedScaling(Status="ENABLED", TargetCapacity=100) if managed else ecs.ManagedScaling(Status="DISABLED"),
                ManagedTerminationProtection="DISABLED",
                ManagedDraining="ENABLED",
            ),
        )
    )
    if named:
        provider.Name = Join("", [CAPACITY_PROVIDER_PREFIX, Ref(asg)])
    strategy = [ecs.CapacityProviderStrategy(CapacityProvider=Ref(provider), Weight=1)] if managed else []
    t.add_resource(
        ecs.ClusterCapacityProviderAssociations(
            "ClusterCapacityProviders",
            Cluster=Ref(cluster),
            CapacityProviders=[Ref(provider)],
            DefaultCapacityProviderStrategy=strategy,
        )
    )
    return provider
