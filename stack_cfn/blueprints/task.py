"""The task definition every service kind shares: one container, awslogs, least-privilege execution role."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from awacs import secretsmanager as awacs_secretsmanager
from awacs.aws import Allow, Policy, Statement
from troposphere import Equals, GetAtt, If, Join, Not, NoValue, Region, Template, ecs, iam, logs

from stack_cfn.blueprints import iam as policies
from stack_cfn.blueprints.contract import Declared
from stack_cfn.blueprints.database_contract import DATABASE_LABELS, database_value_name
from stack_cfn.blueprints.service_contract import Service as S
from stack_cfn.blueprints.suppressions import LOG_GROUP_KMS, skipping
from stack_cfn.model.config import ServiceConfig
from stack_cfn.model.policies import statement

HAS_TASK_ROLE = "HasTaskRole"
OWN_TASK_ROLE = "OwnTaskRole"


def add_task(t: Template, svc: ServiceConfig, p: Declared, dynamic_host_ports: bool, host_port: object | None,
             wiring: Mapping[str, object] | None = None) -> tuple[ecs.TaskDefinition, logs.LogGroup]:
    """Log group, execution role and task definition for `svc`.

    Per-service values (name, image, version, cpu, memory, port, log retention,
    task role) are the declared parameters; the structure (ports,
    environment, command, volumes, health check) is literal.
    """
    t.add_condition(HAS_TASK_ROLE, Not(Equals(p[S.TaskRoleArn], "")))
    t.add_condition(OWN_TASK_ROLE, Equals(p[S.TaskRoleArn], ""))
    keep = "Retain" if svc.log_retention_on_delete else "Delete"
    # No LogGroupName: CloudFormation names the group (<service stack>-LogGroup-<random>). A fixed name would outlive
    # the stack (the group is retained) and make the next create of that name fail with "already exists": destroy then
    # deploy under the same name, or a nested stack rebuilt on update (AWS::Logs::LogGroup reference, LogGroupName: "If
    # you don't specify a name, CloudFormation generates a unique ID"). Tasks get the name through awslogs-group (Ref).
    log_group = t.add_resource(logs.LogGroup(
        "LogGroup", RetentionInDays=p[S.LogRetentionDays],
        DeletionPolicy=keep, UpdateReplacePolicy=keep, Metadata=skipping(LOG_GROUP_KMS)))
    databases = _databases(svc, wiring or {})
    reads = policies.task_execution_policy(GetAtt(log_group, "Arn"), tuple(svc.secrets.values()), svc.kms_key_arn, svc.repository_credentials,
                                           [d.secret_arn for d in databases])
    execution_role = t.add_resource(iam.Role(
        "ExecutionRole", AssumeRolePolicyDocument=policies.trust("ecs-tasks.amazonaws.com", same_account=True),
        Policies=[iam.Policy(PolicyName="pull-log-and-read-secrets", PolicyDocument=reads)]))
    task_role = _task_role(t, svc, databases)
    container = ecs.ContainerDefinition(
        Name=p[S.Name],
        Image=Join(":", [p[S.Image], p[S.Version]]),
        Cpu=p[S.Cpu],
        Memory=p[S.Memory],
        Essential=True,
        PortMappings=_ports(svc, p, dynamic_host_ports, host_port) or NoValue,
        Environment=_environment(svc, databases),
        Secrets=[ecs.Secret(Name=k, ValueFrom=v) for k, v in sorted(svc.secrets.items())] + [s for d in databases for s in d.secrets()] or NoValue,
        RepositoryCredentials=ecs.RepositoryCredentials(CredentialsParameter=svc.repository_credentials) if svc.repository_credentials else NoValue,
        Command=list(svc.command) or NoValue,
        EntryPoint=list(svc.entry_point) or NoValue,
        MountPoints=[ecs.MountPoint(SourceVolume=m.volume, ContainerPath=m.container_path, ReadOnly=m.read_only) for m in svc.mount_points] or NoValue,
        HealthCheck=_health_check(svc),
        LogConfiguration=ecs.LogConfiguration(
            LogDriver="awslogs",
            # One stream per container: <name>/<container>/<task id>.
            Options={"awslogs-group": log_group.ref(), "awslogs-region": Region, "awslogs-stream-prefix": p[S.Name]},
        ),
    )
    task = t.add_resource(ecs.TaskDefinition(
        "TaskDefinition",
        Family=p[S.Name],
        NetworkMode="bridge",
        RequiresCompatibilities=["EC2"],
        ExecutionRoleArn=GetAtt(execution_role, "Arn"),
        TaskRoleArn=If(HAS_TASK_ROLE, p[S.TaskRoleArn], GetAtt(task_role, "Arn")),
        ContainerDefinitions=[container],
        Volumes=[ecs.Volume(Name=v.name, Host=ecs.Host(SourcePath=v.host_path) if v.host_path else NoValue) for v in svc.volumes] or NoValue,
    ))
    return task, log_group


def _task_role(t: Template, svc: ServiceConfig, databases: list[UsedDatabase]) -> iam.Role:
    """The service's own task role (unless TaskRoleArn names one): no permissions but the stack file's policies, and
    reading the secrets of the databases it names (see UsedDatabase). Its SDKs find these credentials first, so nothing
    falls back to the instance's."""
    managed = [p for p in svc.policies if isinstance(p, str)]
    statements = [statement(f"services.{svc.name}.policies[{i}]", p) for i, p in enumerate(svc.policies) if not isinstance(p, str)]
    grants: dict[str, object] = {}
    if managed:
        grants["ManagedPolicyArns"] = managed
    inline = []
    if statements:
        inline.append(iam.Policy(PolicyName="service", PolicyDocument=Policy(Version="2012-10-17", Statement=statements)))
    if databases:
        inline.append(iam.Policy(PolicyName="reread-database-secrets", PolicyDocument=Policy(Version="2012-10-17", Statement=[Statement(
            Sid="DatabaseSecrets", Effect=Allow, Action=[awacs_secretsmanager.GetSecretValue], Resource=[d.secret_arn for d in databases])])))
    if inline:
        grants["Policies"] = inline
    return t.add_resource(iam.Role(
        "TaskRole", Condition=OWN_TASK_ROLE, AssumeRolePolicyDocument=policies.trust("ecs-tasks.amazonaws.com", same_account=True), **grants))


@dataclass(frozen=True)
class UsedDatabase:
    """A database a service uses: its env prefix and its wired (or imported) outputs.

    RDS rotates the managed master password (every 7 days by default: RDS user guide, "Password management with
    Amazon RDS and AWS Secrets Manager"), and ECS injects <PREFIX>_PASSWORD only when a task starts (ECS developer
    guide, "Pass Secrets Manager secrets through Amazon ECS environment variables": "If the secret is subsequently
    updated or rotated, the container will not receive the updated value automatically"). So the service also gets <PREFIX>_SECRET_ARN, and its own task role may read that
    secret: on an authentication failure the application re-reads the current password instead of failing until
    the task is replaced. (docs/database-passwords.md: the choice, and the other ways out.)"""

    prefix: str
    host: object
    port: object
    name: object
    secret_arn: object

    def environment(self) -> dict[str, object]:
        return {f"{self.prefix}_HOST": self.host, f"{self.prefix}_PORT": self.port, f"{self.prefix}_NAME": self.name,
                f"{self.prefix}_SECRET_ARN": self.secret_arn}

    def secrets(self) -> list[ecs.Secret]:
        """The master user's name and password, read by ECS from the secret RDS keeps them in."""
        return [ecs.Secret(Name=f"{self.prefix}_{key.upper()}", ValueFrom=Join("", [self.secret_arn, f":{key}::"]))
                for key in ("username", "password")]


def _databases(svc: ServiceConfig, wiring: Mapping[str, object]) -> list[UsedDatabase]:
    return [UsedDatabase(svc.database_env_prefix.get(name, name.upper().replace("-", "_")),
                         *(wiring[database_value_name(i, label)] for label in DATABASE_LABELS))
            for i, name in enumerate(svc.databases)]


def _environment(svc: ServiceConfig, databases: list[UsedDatabase]) -> list[ecs.Environment]:
    """The stack file's env, the databases' HOST/PORT/NAME, and the region every AWS SDK reads (unless the env sets it)."""
    env: dict[str, object] = {"AWS_REGION": Region, "AWS_DEFAULT_REGION": Region, **{k: v for d in databases for k, v in d.environment().items()},
                              **svc.env}
    return [ecs.Environment(Name=k, Value=v) for k, v in sorted(env.items())]


def _ports(svc: ServiceConfig, p: Declared, dynamic_host_ports: bool, host_port: object | None) -> list[ecs.PortMapping]:
    """The main port is the Port parameter; extra ports are literal. ALB: dynamic host ports; classic: static."""
    ports = []
    for i, port in enumerate(svc.container_ports):
        container_port = p[S.Port] if i == 0 and svc.port else port
        if dynamic_host_ports:
            host = 0
        elif i == 0 and host_port is not None:
            host = host_port
        else:
            host = container_port
        ports.append(ecs.PortMapping(ContainerPort=container_port, HostPort=host, Protocol="tcp"))
    return ports


def _health_check(svc: ServiceConfig) -> object:
    h = svc.health_check
    if h is None:
        return NoValue
    return ecs.HealthCheck(Command=list(h.command), Interval=h.interval, Timeout=h.timeout, Retries=h.retries, StartPeriod=h.start_period)
