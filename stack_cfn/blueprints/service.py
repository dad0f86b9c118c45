"""Service templates: `service` (internal load balancer), `web-service` (public load balancer),
`worker` (no load balancer). One builder, one task definition shape.

Two ways in, one template:
- nested in the root stack, which passes the layers' outputs as parameters;
- on its own against a running stack: leave those parameters empty and give
  `StackName`; each empty one is imported from that stack's export
  `<StackName>-<Output>`, e.g.
  `aws cloudformation deploy --template-file templates/service.json --stack-name prod-nginx
   --parameter-overrides StackName=prod Name=nginx Image=nginx Port=80`.

Per-service values are parameters (interfaces.Service) with generic defaults,
and only the structure (kind, load balancer kind, ports, environment,
command, volumes, health check, auto scaling) shapes the template, so
services alike in structure share one template file.
"""

from __future__ import annotations

import dataclasses

from troposphere import Equals, GetAtt, If, Join, Not, NoValue, Tags, Template, applicationautoscaling, ecs, route53

from stack_cfn.blueprints.alarms import service_alarms
from stack_cfn.blueprints.common import emit, is_true, new_template
from stack_cfn.blueprints.contract import FROM_SETTING, Param, PerService, declare
from stack_cfn.blueprints.deployment import Shifting, add_traffic_shifting, deployment_configuration, wire_alarms
from stack_cfn.blueprints.loadbalancer import Balancer, add_balancer, fqdn
from stack_cfn.blueprints.parts import Parts, wiring_values
from stack_cfn.blueprints.service_contract import Service as S
from stack_cfn.blueprints.task import add_task
from stack_cfn.model.config import ServiceConfig


def per_service_settings() -> dict[str, bool]:
    """Settings that only fill a service template's parameters, each with whether the template depends on its presence:
    a parameter without a default (Port) exists whatever its value, but the builder may ask whether the setting is set."""
    return {p.setting: p.default is None for p in S.params()
            if isinstance(p, Param) and isinstance(p.supply, PerService) and p.setting and p.value is None and p.default in (FROM_SETTING, None)}


def shape_key(svc: ServiceConfig) -> str:
    """What a service template's bytes depend on: every setting but those that only fill its parameters."""
    per_service = per_service_settings()
    return repr([(f.name, (getattr(svc, f.name) is not None) if per_service[f.name] else None) if f.name in per_service else (f.name, getattr(svc, f.name))
                 for f in dataclasses.fields(svc)])


HAS_DNS_NAME = "HasDnsName"
HAS_EXTERNAL_ZONE = "HasExternalZone"
CIRCUIT_BREAKER = "CircuitBreakerOn"
DEFAULT_HOST_PORT = "DefaultHostPort"


def describe(svc: ServiceConfig) -> str:
    if not svc.has_balancer:
        return f"stack-cfn {svc.kind}: ECS service on EC2"
    if svc.is_shared:
        return f"stack-cfn {svc.kind}: ECS service on EC2 behind a host rule on the stack's shared {svc.exposure.scheme} ALBs"
    article = "n application" if svc.has_own_alb else " classic"
    return f"stack-cfn {svc.kind}: ECS service on EC2 behind a{article} load balancer"


def build_service(svc: ServiceConfig) -> Template:
    t = new_template(describe(svc))
    p = declare(t, S, svc)
    parts = Parts(t, svc, p, wiring_values(t, svc, p))
    if svc.has_balancer:
        t.add_condition(HAS_DNS_NAME, Not(Equals(p[S.DnsName], "")))
    if S.HostPort in p:
        t.add_condition(DEFAULT_HOST_PORT, Equals(p[S.HostPort], 0))
    if S.ExternalZoneId in p:
        t.add_condition(HAS_EXTERNAL_ZONE, Not(Equals(p[S.ExternalZoneId], "")))
    host_port = If(DEFAULT_HOST_PORT, p[S.Port], p[S.HostPort]) if S.HostPort in p else None
    balancer = add_balancer(parts, host_port) if svc.has_balancer else None
    task, log_group = add_task(t, svc, p, dynamic_host_ports=svc.balancer is not None and svc.balancer.dynamic_host_ports, host_port=host_port, wiring=parts.wiring)
    shifting = add_traffic_shifting(parts, balancer) if balancer and svc.shifts_traffic else None
    service = _ecs_service(parts, task, balancer, shifting)
    if S.CircuitBreaker in p:
        t.add_condition(CIRCUIT_BREAKER, is_true(p[S.CircuitBreaker]))
    if svc.autoscaling:
        _autoscaling(parts, service)
    if svc.alarms:
        service_alarms(t, p, parts.wired(S.Cluster), service, balancer, parts.wired(S.AlarmTopic))
        if svc.deployment is not None:
            wire_alarms(parts, service, shifting)
    emit(t, S.Outputs.Name, GetAtt(service, "Name"))
    emit(t, S.Outputs.LogGroup, log_group.ref())
    if balancer:
        _records(parts, balancer)
    return t


def _ecs_service(parts: Parts, task: ecs.TaskDefinition, balancer: Balancer | None, shifting: Shifting | None = None) -> ecs.Service:
    p = parts.p
    behind: dict[str, object] = {}
    if balancer:
        advanced = {"AdvancedConfiguration": shifting.advanced} if shifting else {}
        behind = {"LoadBalancers": [ecs.LoadBalancer(**lb, **advanced) for lb in balancer.load_balancers], "HealthCheckGracePeriodSeconds": 60}
        if balancer.uses_service_role:
            behind["Role"] = parts.wired(S.ServiceRole)
    if S.DesiredCount in p:  # with auto scaling, none: created at 1, raised to MinCount when the target registers
        behind["DesiredCount"] = p[S.DesiredCount]
    breaker = If(CIRCUIT_BREAKER, True, False) if S.CircuitBreaker in p else None
    # No ServiceName: CloudFormation cannot replace a resource with a name of ours ("If you specify a name, you
    # can't perform updates that require replacement of this resource", AWS::ECS::Service), and the cluster,
    # Role (classic ELB <-> ALB) and more do need replacement. The task family, container and Name tag keep the
    # service's name; the Name output gives the ECS service's own.
    # The cluster's capacity provider in both scaling modes: the service's tasks count towards managed
    # scaling when ecs_scaling becomes managed, with nothing of the service to change then.
    service = parts.t.add_resource(ecs.Service(
        "Service",
        Cluster=parts.wired(S.Cluster),
        TaskDefinition=task.ref(),
        CapacityProviderStrategy=[ecs.CapacityProviderStrategyItem(CapacityProvider=parts.wired(S.CapacityProvider), Weight=1)]
        if S.CapacityProvider in p else NoValue,
        DeploymentConfiguration=deployment_configuration(parts, breaker),
        PlacementStrategies=[
            ecs.PlacementStrategy(Type="spread", Field="attribute:ecs.availability-zone"),
            ecs.PlacementStrategy(Type="spread", Field="instanceId"),
        ],
        **behind,
        PropagateTags="SERVICE",
        EnableECSManagedTags=True,
        Tags=Tags(Name=p[S.Name], Environment=parts.wired(S.Environment)),
    ))
    # Created after its listener, as ECS requires (the traffic-shifting rules it refers to come after it already).
    depends_on = [d for d in balancer.depends_on if not shifting or d not in shifting.depends_on] if balancer else []
    if depends_on:
        service.DependsOn = depends_on
    return service


def _records(parts: Parts, balancer: Balancer) -> None:
    """The private-zone record (and a web service's public one), and the load balancer's outputs."""
    t, p = parts.t, parts.p
    alias = route53.AliasTarget(HostedZoneId=balancer.zone_id, DNSName=balancer.dns_name, EvaluateTargetHealth=False)
    label = If(HAS_DNS_NAME, p[S.DnsName], p[S.Name])
    record = t.add_resource(route53.RecordSetType(
        "DnsRecord", HostedZoneId=parts.wired(S.ZoneId), Name=fqdn(label, parts.wired(S.DomainName)), Type="A", AliasTarget=alias))
    internal_fqdn = record.ref()  # a record set's Ref is its name
    shape = parts.svc
    for out, value in ((S.Outputs.Dns, balancer.dns_name), (S.Outputs.Elb, balancer.reference), (S.Outputs.ZoneId, balancer.zone_id), (S.Outputs.Fqdn, internal_fqdn)):
        if out.when(shape):
            emit(t, out, value)
    if shape.is_public:
        t.add_resource(route53.RecordSetType(
            "ExternalDnsRecord", Condition=HAS_EXTERNAL_ZONE, HostedZoneId=p[S.ExternalZoneId], Name=p[S.ExternalDnsName], Type="A",
            AliasTarget=alias))
        emit(t, S.Outputs.InternalFqdn, internal_fqdn)
        if S.Outputs.ExternalFqdn.when(shape):
            emit(t, S.Outputs.ExternalFqdn, If(HAS_EXTERNAL_ZONE, p[S.ExternalDnsName], balancer.dns_name))


def _autoscaling(parts: Parts, service: ecs.Service) -> None:
    t, p = parts.t, parts.p
    target = t.add_resource(applicationautoscaling.ScalableTarget(
        "ScalableTarget", ServiceNamespace="ecs", ScalableDimension="ecs:service:DesiredCount",
        ResourceId=Join("/", ["service", parts.wired(S.Cluster), GetAtt(service, "Name")]),
        MinCapacity=p[S.MinCount], MaxCapacity=p[S.MaxCount]))
    t.add_resource(applicationautoscaling.ScalingPolicy(
        "CpuScalingPolicy",
        PolicyName=Join("-", [p[S.Name], "cpu"]),
        PolicyType="TargetTrackingScaling",
        ScalingTargetId=target.ref(),
        TargetTrackingScalingPolicyConfiguration=applicationautoscaling.TargetTrackingScalingPolicyConfiguration(
            PredefinedMetricSpecification=applicationautoscaling.PredefinedMetricSpecification(PredefinedMetricType="ECSServiceAverageCPUUtilization"),
            TargetValue=p[S.TargetCpu],
            ScaleInCooldown=300,
            ScaleOutCooldown=60,
        ),
    ))

