"""IAM policies, all written with awacs: least privilege, no hand-written JSON."""

from __future__ import annotations

import awacs.elasticloadbalancing as elb
from awacs import ecr, ecs, logs
from awacs.aws import (
    Allow,
    ArnEquals,
    Condition,
    Policy,
    PolicyDocument,
    Principal,
    Statement,
)
from awacs.ec2 import Action as Ec2Action
from awacs.ec2 import AuthorizeSecurityGroupIngress
from awacs.sts import AssumeRole
from troposphere import AccountId, Join, Partition, Region, Sub

SSM_MANAGED_POLICY = Join("", ["arn:", Partition, ":iam::aws:policy/AmazonSSMManagedInstanceCore"])


def trust(service: str) -> PolicyDocument:
    """A trust policy letting one AWS service assume the role."""
    return PolicyDocument(
        Version="2012-10-17",
        Statement=[Statement(Effect=Allow, Principal=Principal("Service", [service]), Action=[AssumeRole])],
    )


def _arn(service: str, resource: str) -> Join:
    return Join("", ["arn:", Partition, f":{service}:", Region, ":", AccountId, ":", resource])


def ecr_pull() -> Statement:
    """Pull images from this account's ECR repositories."""
    return Statement(Sid="EcrPull", Effect=Allow, Action=[ecr.BatchCheckLayerAvailability, ecr.GetDownloadUrlForLayer, ecr.BatchGetImage],
                     Resource=[_arn("ecr", "repository/*")])


def log_group_arn(prefix: Sub | str) -> Join:
    """Every log group under `prefix` (e.g. /<name>/<environment>) and its streams."""
    return Join("", ["arn:", Partition, ":logs:", Region, ":", AccountId, ":log-group:", prefix, "/*"])


def container_instance_policy(cluster_name: object, log_prefix: Sub | str) -> Policy:
    """What the ECS agent on a container instance needs for one cluster, and no more."""
    cluster_arn = Join("", ["arn:", Partition, ":ecs:", Region, ":", AccountId, ":cluster/", cluster_name])
    return Policy(
        Version="2012-10-17",
        Statement=[
            Statement(
                Sid="EcsDiscovery",
                Effect=Allow,
                Action=[ecs.DiscoverPollEndpoint, ecr.GetAuthorizationToken],
                Resource=["*"],
            ),
            Statement(
                Sid="EcsClusterMembership",
                Effect=Allow,
                Action=[
                    ecs.RegisterContainerInstance,
                    ecs.DeregisterContainerInstance,
                    ecs.SubmitContainerStateChange,
                    ecs.SubmitTaskStateChange,
                    ecs.SubmitAttachmentStateChanges,
                    ecs.UpdateContainerInstancesState,
                ],
                Resource=[cluster_arn],
            ),
            Statement(
                Sid="EcsAgentSession",
                Effect=Allow,
                Action=[ecs.Poll, ecs.StartTelemetrySession, ecs.PutSystemLogEvents, ecs.TagResource],
                Resource=[_arn("ecs", "container-instance/*")],
                Condition=Condition(ArnEquals("ecs:cluster", cluster_arn)),
            ),
            ecr_pull(),
            Statement(
                Sid="ContainerLogs",
                Effect=Allow,
                Action=[logs.CreateLogStream, logs.PutLogEvents, logs.DescribeLogStreams],
                Resource=[log_group_arn(log_prefix)],
            ),
        ],
    )


def ecs_service_policy() -> Policy:
    """The ECS service role of classic-ELB services: register instances and targets."""
    return Policy(
        Version="2012-10-17",
        Statement=[
            Statement(
                Sid="LoadBalancerRegistration",
                Effect=Allow,
                Action=[
                    elb.RegisterInstancesWithLoadBalancer,
                    elb.DeregisterInstancesFromLoadBalancer,
                    elb.RegisterTargets,
                    elb.DeregisterTargets,
                    elb.Action("Describe*"),
                    Ec2Action("Describe*"),
                    AuthorizeSecurityGroupIngress,
                ],
                Resource=["*"],
            )
        ],
    )


def task_execution_policy(log_group: object) -> Policy:
    """Pull the image and write to the service's own log group."""
    return Policy(
        Version="2012-10-17",
        Statement=[
            Statement(Sid="EcrAuth", Effect=Allow, Action=[ecr.GetAuthorizationToken], Resource=["*"]),
            ecr_pull(),
            Statement(
                Sid="Logs",
                Effect=Allow,
                Action=[logs.CreateLogStream, logs.PutLogEvents],
                Resource=[log_group],
            ),
        ],
    )
