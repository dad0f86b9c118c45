"""The Fargate and awsvpc parts of a service template, and the cluster's Fargate capacity providers.

Pure functions of the service (or stack) and its declared parameters; service.py, task.py and
loadbalancer.py call them where a task's network mode or launch type changes what they emit. AWS's rules
behind each are facts of model/aws_facts.py, with their sources:
- the task definition: RequiresCompatibilities FARGATE, NetworkMode awsvpc, task-level Cpu and Memory (one of
  Fargate's pairs, checked by the model), RuntimePlatform, EphemeralStorage; the execution role (task.py) pulls
  the image, writes the logs and reads the secrets, as Fargate needs;
- the service: NetworkConfiguration (required with awsvpc) in the internal subnets with a security group of the
  service's own, which admits the load balancer's group on the container port; on Fargate a FARGATE /
  FARGATE_SPOT strategy (never with LaunchType) and the platform version, and no placement strategies;
- the target group: TargetType ip;
- databases the service names admit its group on their port (AWS::EC2::SecurityGroupIngress on the database's
  group: "To cross-reference two security groups ... use the AWS::EC2::SecurityGroupIngress", AWS::EC2::SecurityGroup).
"""

from __future__ import annotations

from troposphere import NoValue, Ref, Sub, ec2, ecs

from stack_cfn.blueprints.common import all_traffic, tags
from stack_cfn.blueprints.contract import Declared
from stack_cfn.blueprints.interfaces import DATABASE_GROUP_LABEL, DATABASE_LABELS, DATABASE_OUTPUTS, database_value_name
from stack_cfn.blueprints.interfaces import Database as D
from stack_cfn.blueprints.interfaces import Service as S
from stack_cfn.blueprints.parts import Parts
from stack_cfn.model import aws_facts as F
from stack_cfn.model.config import ServiceConfig, StackConfig
from stack_cfn.model.fargate import on_fargate, strategy, uses_fargate

SERVICE_GROUP = "ServiceSecurityGroup"
PORT_LABEL = dict(zip(DATABASE_OUTPUTS, DATABASE_LABELS, strict=True))[D.Port_]  # Database<i>Port


def task_properties(svc: ServiceConfig, p: Declared) -> dict[str, object]:
    """What a task definition of `svc` says about where it runs: bridge on EC2 as before, else awsvpc (and Fargate's own)."""
    if not svc.awsvpc:
        return {"NetworkMode": "bridge", "RequiresCompatibilities": ["EC2"]}
    if not on_fargate(svc):
        return {"NetworkMode": "awsvpc", "RequiresCompatibilities": ["EC2"]}
    # Task-level sizes: required on Fargate (TaskDefinition Cpu/Memory: "If you're using the Fargate launch type, this field is required").
    return dict(
        NetworkMode="awsvpc", RequiresCompatibilities=["FARGATE"], Cpu=p[S.Cpu], Memory=p[S.Memory],
        RuntimePlatform=ecs.RuntimePlatform(CpuArchitecture=F.CPU_ARCHITECTURES[svc.cpu_architecture], OperatingSystemFamily="LINUX"),
        EphemeralStorage=ecs.EphemeralStorage(SizeInGiB=svc.ephemeral_storage) if svc.ephemeral_storage else NoValue,
    )


def target_type(svc: ServiceConfig) -> str:
    """awsvpc tasks register by IP address (model/aws_facts.py AWSVPC_TARGET_TYPE); bridge ones by instance and port."""
    return F.AWSVPC_TARGET_TYPE if svc.awsvpc else "instance"


def service_security_group(parts: Parts) -> ec2.SecurityGroup:
    """The service's own group: its load balancer's group on the container port, nothing else in; all traffic out
    (the image registry, logs, secrets, databases)."""
    t, p, svc = parts.t, parts.p, parts.svc
    ingress = [ec2.SecurityGroupRule(IpProtocol="tcp", FromPort=p[S.Port], ToPort=p[S.Port], SourceSecurityGroupId=parts.wired(S.LoadBalancerSecurityGroup),
                                     Description="The load balancer, on the container port")] if svc.has_balancer else []
    return t.add_resource(ec2.SecurityGroup(
        SERVICE_GROUP, GroupDescription=Sub(f"ECS service tasks (${{{S.Name.name}}}): the load balancer on the container port"),
        VpcId=parts.wired(S.VpcId), SecurityGroupIngress=ingress or NoValue,
        SecurityGroupEgress=[all_traffic(CidrIp="0.0.0.0/0", Description="All traffic out")],
        Tags=tags(p[S.Name], parts.wired(S.Environment))))


def admit_to_databases(parts: Parts, group: ec2.SecurityGroup) -> None:
    """Each database the service names admits the service's group on its port: exactly the services that name it."""
    for i, _ in enumerate(parts.svc.databases):
        port = parts.wiring[database_value_name(i, PORT_LABEL)]
        parts.t.add_resource(ec2.SecurityGroupIngress(
            f"Database{i + 1}Ingress", GroupId=parts.wiring[database_value_name(i, DATABASE_GROUP_LABEL)], IpProtocol="tcp",
            FromPort=port, ToPort=port, SourceSecurityGroupId=Ref(group), Description=Sub(f"ECS service ${{{S.Name.name}}}")))


def service_properties(parts: Parts) -> dict[str, object]:
    """The ECS service's properties an awsvpc (or Fargate) service sets or drops: its network configuration, and on
    Fargate the FARGATE / FARGATE_SPOT strategy, the platform version and no placement strategies."""
    svc = parts.svc
    if not svc.awsvpc:
        return {}
    group = service_security_group(parts)
    admit_to_databases(parts, group)
    network = ecs.NetworkConfiguration(AwsvpcConfiguration=ecs.AwsvpcConfiguration(
        Subnets=parts.wired(S.TaskSubnets), SecurityGroups=[Ref(group)], AssignPublicIp="DISABLED"))
    if not on_fargate(svc):
        return {"NetworkConfiguration": network}
    return {
        "NetworkConfiguration": network,
        "CapacityProviderStrategy": [ecs.CapacityProviderStrategyItem(CapacityProvider=c.provider, Weight=c.weight, **({"Base": c.base} if c.base else {}))
                                     for c in strategy(svc)],
        "PlatformVersion": svc.platform_version or "LATEST",
        "PlacementStrategies": None,  # Fargate places tasks itself (model/aws_facts.py FARGATE_UNSUPPORTED_KEYS)
    }


def adapt_service(service: ecs.Service, parts: Parts) -> None:
    """Set (or, for None, drop) the properties `service_properties` gives on the ECS service."""
    for key, value in service_properties(parts).items():
        if value is None:
            service.properties.pop(key, None)
        else:
            setattr(service, key, value)


def cluster_providers(cfg: StackConfig) -> list[str]:
    """The Fargate capacity providers the cluster offers beside its instances', when a service runs on Fargate."""
    return list(F.FARGATE_PROVIDERS) if uses_fargate(cfg) else []

