"""IAM policies, all written with awacs: least privilege, no hand-written JSON.

Who gets what:
- the container instance: what the ECS agent needs for its one cluster, Session Manager, and (only
  with a docker auth secret) reading that one secret; no ECR, no SSM parameters, no `*` writes;
- a service's execution role: pull images, write its own log group, read exactly its secrets;
- a service's task role: nothing, unless the stack file gives it policies;
- the ECS service role: only when a classic ELB service needs it, only this account's load balancers.
Task roles and execution roles (assumed by ecs-tasks.amazonaws.com) carry `aws:SourceAccount`, the
confused-deputy guard the ECS developer guide documents for them ("Amazon ECS task IAM role", trust
policy example). The classic-ELB service role (ecs.amazonaws.com) and EC2 instance roles do not: AWS
documents no such key for those assumptions, and a condition on a key the service does not send would
deny the role to the service.

Every Resource is the ARN the service checks: a log group's GetAtt Arn ends in `:*` (its streams, which
CreateLogStream/PutLogEvents name), a Secrets Manager ARN ends in the 6-character suffix Secrets Manager
appends (`-??????` when only the name is known), SSM parameter ARNs are `parameter/<name without the
leading slash>`, KMS keys by key ARN (an alias ARN authorizes nothing for Decrypt).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import awacs.elasticloadbalancing as elb
from awacs import ecr, ecs, kms, logs, secretsmanager, ssm, ssmmessages
from awacs.aws import Allow, ArnEquals, Condition, Policy, PolicyDocument, Principal, Statement, StringEquals
from awacs.ec2 import Action as Ec2Action
from awacs.sts import AssumeRole
from troposphere import AccountId, Join, Partition, Region


def trust(service: str, same_account: bool = False) -> PolicyDocument:
    """A trust policy letting one AWS service assume the role (with same_account: only for this account)."""
    condition = {"Condition": Condition(StringEquals("aws:SourceAccount", AccountId))} if same_account else {}
    return PolicyDocument(
        Version="2012-10-17",
        Statement=[Statement(Effect=Allow, Principal=Principal("Service", [service]), Action=[AssumeRole], **condition)],
    )


def arn(service: str, resource: object) -> Join:
    return Join("", ["arn:", Partition, f":{service}:", Region, ":", AccountId, ":", resource])


def session_manager_statements() -> list[Statement]:
    """What the SSM agent needs for Session Manager, without AmazonSSMManagedInstanceCore's ssm:GetParameter* on *."""
    return [
        Statement(Sid="SsmRegistration", Effect=Allow, Action=[ssm.UpdateInstanceInformation], Resource=[arn("ec2", "instance/*")]),
        Statement(Sid="SsmSessions", Effect=Allow, Resource=["*"], Action=[
            ssmmessages.CreateControlChannel, ssmmessages.CreateDataChannel, ssmmessages.OpenControlChannel, ssmmessages.OpenDataChannel]),
    ]


def session_manager_policy() -> Policy:
    return Policy(Version="2012-10-17", Statement=session_manager_statements())


def container_instance_policy(cluster_name: object) -> Policy:
    """What the ECS agent on a container instance needs for one cluster, and Session Manager; no more.

    No CloudWatch Logs: every task has an execution role, and the agent hands its credentials to docker's
    awslogs driver (`awslogs-credentials-endpoint`, amazon-ecs-agent agent/api/task/task.go), so each task
    writes only to its own group with its own role. (The statement this replaces named `/<Name>/<Environment>/*`,
    which matched none of the services' groups.)"""
    cluster_arn = arn("ecs", Join("", ["cluster/", cluster_name]))
    return Policy(
        Version="2012-10-17",
        Statement=[
            Statement(Sid="EcsDiscovery", Effect=Allow, Action=[ecs.DiscoverPollEndpoint], Resource=["*"]),
            Statement(Sid="EcsClusterMembership", Effect=Allow, Resource=[cluster_arn], Action=[
                ecs.RegisterContainerInstance, ecs.DeregisterContainerInstance, ecs.SubmitContainerStateChange, ecs.SubmitTaskStateChange,
                ecs.SubmitAttachmentStateChanges]),
            # These authorize on the container instance (container-instance/<cluster>/<id>), not the cluster (Service
            # Authorization Reference, Amazon ECS; aws-cdk#3199 for UpdateContainerInstancesState): scoped by ecs:cluster.
            Statement(Sid="EcsAgentSession", Effect=Allow, Action=[ecs.Poll, ecs.StartTelemetrySession, ecs.PutSystemLogEvents, ecs.TagResource,
                                                                   ecs.UpdateContainerInstancesState],
                      Resource=[arn("ecs", "container-instance/*")], Condition=Condition(ArnEquals("ecs:cluster", cluster_arn))),
            *session_manager_statements(),
        ],
    )


def read_secret_policy(secret_arn: object) -> Policy:
    """Read one Secrets Manager secret (the docker auth data the instance writes into ecs.config at boot).

    The ARN is a template parameter, so whether it carries Secrets Manager's 6-character suffix is known only at
    deploy time: the policy names it as given and with `-??????`, which matches it when given by name only."""
    return Policy(Version="2012-10-17", Statement=[
        Statement(Sid="DockerAuthSecret", Effect=Allow, Action=[secretsmanager.GetSecretValue],
                  Resource=[secret_arn, Join("", [secret_arn, "-??????"])])])


def ecs_service_policy() -> Policy:
    """The ECS service role of classic-ELB services: register instances with this account's load balancers."""
    return Policy(
        Version="2012-10-17",
        Statement=[
            Statement(Sid="LoadBalancerRegistration", Effect=Allow, Resource=[arn("elasticloadbalancing", "loadbalancer/*")],
                      Action=[elb.RegisterInstancesWithLoadBalancer, elb.DeregisterInstancesFromLoadBalancer]),
            Statement(Sid="Describe", Effect=Allow, Action=[elb.Action("Describe*"), Ec2Action("Describe*")], Resource=["*"]),
        ],
    )


SECRET_SUFFIX = re.compile(r"-[A-Za-z0-9]{6}$")


def secret_resource(ref: str) -> object:
    """The ARN a container secret is read from: the secret (without a json-key suffix) or the parameter.

    Secrets Manager names a secret's ARN `secret:<name>-<6 random characters>`, and IAM matches the whole ARN:
    a partial ARN (the name only) gets the documented `-??????` wildcard (Secrets Manager user guide,
    "Permissions policy examples": "...:secret:SecretName-??????"). SSM parameter ARNs are `parameter/<name>`
    without the name's leading slash (SSM user guide, "Restricting access to Parameter Store parameters")."""
    if ref.startswith("arn:"):
        parts = ref.split(":")
        if parts[2] != "secretsmanager":
            return ref
        secret = ":".join(parts[:7])
        return secret if SECRET_SUFFIX.search(parts[6]) else secret + "-??????"
    return arn("ssm", "parameter/" + ref.lstrip("/"))


def task_execution_policy(log_group: object, secrets: Sequence[str] = (), kms_key: str = "", registry: str = "",
                          database_secrets: Sequence[object] = ()) -> Policy:
    """Pull the image, write to the service's own log group, and read exactly the service's secrets (and its databases')."""
    statements = [
        Statement(Sid="EcrAuth", Effect=Allow, Action=[ecr.GetAuthorizationToken], Resource=["*"]),
        Statement(Sid="EcrPull", Effect=Allow, Action=[ecr.BatchCheckLayerAvailability, ecr.GetDownloadUrlForLayer, ecr.BatchGetImage],
                  Resource=[arn("ecr", "repository/*")]),
        Statement(Sid="Logs", Effect=Allow, Action=[logs.CreateLogStream, logs.PutLogEvents], Resource=[log_group]),
    ]
    managers = sorted({str(secret_resource(s)) for s in (*secrets, registry) if s and s.startswith("arn:") and ":secretsmanager:" in s})
    parameters = [secret_resource(s) for s in sorted(set(secrets)) if not (s.startswith("arn:") and ":secretsmanager:" in s)]
    if managers:
        statements.append(Statement(Sid="Secrets", Effect=Allow, Action=[secretsmanager.GetSecretValue], Resource=list(managers)))
    if parameters:
        statements.append(Statement(Sid="Parameters", Effect=Allow, Action=[ssm.GetParameters], Resource=parameters))
    if database_secrets:
        statements.append(Statement(Sid="DatabaseSecrets", Effect=Allow, Action=[secretsmanager.GetSecretValue], Resource=list(database_secrets)))
    if kms_key:
        statements.append(Statement(Sid="DecryptSecrets", Effect=Allow, Action=[kms.Decrypt], Resource=[kms_key]))
    return Policy(Version="2012-10-17", Statement=statements)
