"""The Fargate and awsvpc part of a service template.

`awsvpc_part` is a builder part, the service module's "fargate" variant (registry.py VARIANTS): it runs after
build_service on every awsvpc service (Fargate, or EC2 with network_mode: awsvpc) and changes what the
bridge-mode builder made, so the service builder itself knows nothing of Fargate. AWS's rules behind each
change are facts of model/aws_facts.py, with their sources:
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

import json

from troposphere import NoValue, Ref, Sub, Template, ec2, ecs

from stack_cfn.blueprints.common import all_traffic, tags
from stack_cfn.blueprints.contract import ContractError, Declared
from stack_cfn.blueprints.database_contract import DATABASE_GROUP_LABEL, DATABASE_LABELS, DATABASE_OUTPUTS, database_value_name
from stack_cfn.blueprints.database_contract import Database as D
from stack_cfn.blueprints.fargate_contract import FargateRows
from stack_cfn.blueprints.parts import Parts, wiring_values
from stack_cfn.blueprints.service_contract import Service as S
from stack_cfn.model import aws_facts as F
from stack_cfn.model.config import ServiceConfig
from stack_cfn.model.fargate import on_fargate, strategy

SERVICE_GROUP = "ServiceSecurityGroup"
PORT_LABEL = dict(zip(DATABASE_OUTPUTS, DATABASE_LABELS, strict=True))[D.Outputs.Port]  # Database<i>Port


def awsvpc_part(t: Template, svc: ServiceConfig, p: Declared) -> None:
    """What an awsvpc (or Fargate) service changes in the template build_service made: the service's own security
    group and its databases' admission, then the task definition, the ECS service and the target group."""
    parts = Parts(t, svc, p, wiring_values(t, svc, p))  # the same conditions and values build_service made
    group = service_security_group(parts)
    admit_to_databases(parts, group)
    task = t.resources["TaskDefinition"]
    for key, value in task_properties(svc, p).items():
        setattr(task, key, value)
    for mapping in _port_mappings(task):
        mapping.HostPort = mapping.ContainerPort  # awsvpc: the host port is the container port (or none)
    service = t.resources["Service"]
    for key, value in service_properties(parts, group).items():
        if value is None:
            service.properties.pop(key, None)
        else:
            setattr(service, key, value)
    if "TargetGroup" in t.resources:
        t.resources["TargetGroup"].properties["TargetType"] = F.AWSVPC_TARGET_TYPE  # awsvpc tasks register by IP
    if on_fargate(svc):
        _check_fargate_keys(task, service)


def _check_fargate_keys(*resources: ecs.TaskDefinition | ecs.Service) -> None:
    """A programming error if the builders gave a Fargate task what Fargate refuses (model/aws_facts.py FARGATE_UNSUPPORTED_KEYS)."""
    text = json.dumps([r.to_dict() for r in resources])
    found = [key for key in F.FARGATE_UNSUPPORTED_KEYS if f'"{key}"' in text]
    if found:
        raise ContractError(f"a Fargate service's template holds {found}, which Fargate refuses")


def _port_mappings(task: ecs.TaskDefinition) -> list[ecs.PortMapping]:
    mappings = task.ContainerDefinitions[0].properties.get("PortMappings")
    return mappings if isinstance(mappings, list) else []


def task_properties(svc: ServiceConfig, p: Declared) -> dict[str, object]:
    """Where an awsvpc task runs: awsvpc on EC2, or Fargate with its task-level sizes, platform and storage."""
    if not on_fargate(svc):
        return dict(NetworkMode="awsvpc")
    # Task-level sizes: required on Fargate (TaskDefinition Cpu/Memory: "If you're using the Fargate launch type, this field is required").
    return dict(
        NetworkMode="awsvpc", RequiresCompatibilities=["FARGATE"], Cpu=p[S.Cpu], Memory=p[S.Memory],
        RuntimePlatform=ecs.RuntimePlatform(CpuArchitecture=F.CPU_ARCHITECTURES[svc.cpu_architecture], OperatingSystemFamily="LINUX"),
        EphemeralStorage=ecs.EphemeralStorage(SizeInGiB=svc.ephemeral_storage) if svc.ephemeral_storage else NoValue,
    )


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


def service_properties(parts: Parts, group: ec2.SecurityGroup) -> dict[str, object]:
    """The ECS service's properties an awsvpc service sets (or, None, drops): its network configuration, and on
    Fargate the FARGATE / FARGATE_SPOT strategy, the platform version and no placement strategies."""
    svc = parts.svc
    network = ecs.NetworkConfiguration(AwsvpcConfiguration=ecs.AwsvpcConfiguration(
        Subnets=parts.wired(FargateRows.TaskSubnets), SecurityGroups=[Ref(group)], AssignPublicIp="DISABLED"))
    if not on_fargate(svc):
        return {"NetworkConfiguration": network}
    return {
        "NetworkConfiguration": network,
        "CapacityProviderStrategy": [ecs.CapacityProviderStrategyItem(CapacityProvider=c.provider, Weight=c.weight, **({"Base": c.base} if c.base else {}))
                                     for c in strategy(svc)],
        "PlatformVersion": svc.platform_version or "LATEST",
        "PlacementStrategies": None,  # Fargate places tasks itself (model/aws_facts.py FARGATE_UNSUPPORTED_KEYS)
    }


