"""The task definition every service kind shares: one container, awslogs, least-privilege execution role."""

from __future__ import annotations

from troposphere import Equals, GetAtt, If, Join, Not, NoValue, Ref, Region, Sub, Template, ecs, iam, logs

from stack_cfn.blueprints import iam as policies
from stack_cfn.model.config import ServiceConfig

HAS_TASK_ROLE = "HasTaskRole"


def add_task(t: Template, svc: ServiceConfig, dynamic_host_ports: bool, host_port: object | None) -> ecs.TaskDefinition:
    """Log group, execution role and task definition for `svc`.

    Per-service values (name, image, version, cpu, memory, port, log retention,
    task role) are parameters the caller declared; the structure (ports,
    environment, command, volumes, health check) is literal.
    """
    t.add_condition(HAS_TASK_ROLE, Not(Equals(Ref("TaskRoleArn"), "")))
    log_group = t.add_resource(
        logs.LogGroup(
            "LogGroup",
            LogGroupName=Sub("/${StackName}/${Name}"),
            RetentionInDays=Ref("LogRetentionDays"),
        )
    )
    execution_role = t.add_resource(
        iam.Role(
            "ExecutionRole",
            AssumeRolePolicyDocument=policies.trust("ecs-tasks.amazonaws.com"),
            Policies=[iam.Policy(PolicyName="pull-and-log", PolicyDocument=policies.task_execution_policy(GetAtt(log_group, "Arn")))],
        )
    )
    ports = []
    for i, port in enumerate(svc.container_ports):
        container_port = Ref("Port") if i == 0 else port
        if dynamic_host_ports:
            host = 0
        elif i == 0 and host_port is not None:
            host = host_port
        else:
            host = container_port
        ports.append(ecs.PortMapping(ContainerPort=container_port, HostPort=host, Protocol="tcp"))
    container = ecs.ContainerDefinition(
        Name=Ref("Name"),
        Image=Join(":", [Ref("Image"), Ref("Version")]),
        Cpu=Ref("Cpu"),
        Memory=Ref("Memory"),
        Essential=True,
        PortMappings=ports or NoValue,
        Environment=[ecs.Environment(Name=k, Value=v) for k, v in sorted(svc.env.items())] or NoValue,
        Command=list(svc.command) or NoValue,
        EntryPoint=list(svc.entry_point) or NoValue,
        MountPoints=[ecs.MountPoint(SourceVolume=m.volume, ContainerPath=m.container_path, ReadOnly=m.read_only) for m in svc.mount_points] or NoValue,
        HealthCheck=ecs.HealthCheck(
            Command=list(svc.health_check.command),
            Interval=svc.health_check.interval,
            Timeout=svc.health_check.timeout,
            Retries=svc.health_check.retries,
            StartPeriod=svc.health_check.start_period,
        )
        if svc.health_check
        else NoValue,
        LogConfiguration=ecs.LogConfiguration(
            LogDriver="awslogs",
            # One stream per container: <name>/<container>/<task id>.
            Options={"awslogs-group": Ref(log_group), "awslogs-region": Region, "awslogs-stream-prefix": Ref("Name")},
        ),
    )
    return t.add_resource(
        ecs.TaskDefinition(
            "TaskDefinition",
            Family=Ref("Name"),
            NetworkMode="bridge",
            RequiresCompatibilities=["EC2"],
            ExecutionRoleArn=GetAtt(execution_role, "Arn"),
            TaskRoleArn=If(HAS_TASK_ROLE, Ref("TaskRoleArn"), NoValue),
            ContainerDefinitions=[container],
            Volumes=[ecs.Volume(Name=v.name, Host=ecs.Host(SourcePath=v.host_path) if v.host_path else NoValue) for v in svc.volumes] or NoValue,
        )
    )
