"""Service templates: `service` (internal load balancer), `web-service` (public load balancer),
`worker` (no load balancer). One builder, one task definition shape.

Two ways in, one template:
- nested in the root stack, which passes the layers' outputs as parameters;
- on its own against a running stack: leave those parameters empty and give
  `StackName`; each empty one is imported from that stack's export
  `<StackName>-<Output>`, e.g.
  `aws cloudformation deploy --template-file templates/service.json --stack-name prod-nginx
   --parameter-overrides StackName=prod Name=nginx Image=nginx Port=80`.

Per-service values are parameters with generic defaults and only the
structure (kind, load balancer kind, ports, environment, command, volumes,
health check, auto scaling) shapes the template, so services alike in
structure share one template file.
"""

from __future__ import annotations

from troposphere import (
    Equals,
    GetAtt,
    If,
    ImportValue,
    Join,
    Not,
    Output,
    Ref,
    Split,
    Tags,
    Template,
    applicationautoscaling,
    ecs,
    route53,
)

from stack_cfn.blueprints.common import add_bool_param, add_param, is_true, new_template
from stack_cfn.blueprints.loadbalancer import add_balancer, fqdn
from stack_cfn.blueprints.task import add_task
from stack_cfn.model.config import LOG_RETENTION_DAYS, ServiceConfig

HAS_DNS_NAME = "HasDnsName"
HAS_EXTERNAL_ZONE = "HasExternalZone"

# wiring parameter -> (export of the stack it is imported from when empty, is a list, description)
WIRING = {
    "Environment": ("Environment", False, "Environment name"),
    "Cluster": ("Cluster", False, "ECS cluster"),
    "VpcId": ("VpcId", False, "The stack's VPC"),
    "Subnets": (None, True, "Subnets of the load balancer"),
    "LoadBalancerSecurityGroup": (None, False, "Security group of the load balancer"),
    "ZoneId": ("ZoneId", False, "Private hosted zone"),
    "DomainName": ("DomainName", False, "Private domain, e.g. stack.local"),
    "LogBucket": ("LogBucketId", False, "Bucket of load balancer access logs"),
    "ServiceRole": ("IamRole", False, "ECS service role (classic ELB registration)"),
}


def wiring_for(kind: str, load_balancer: str) -> list[str]:
    """The wiring parameters a service of this shape takes."""
    if kind == "worker":
        return ["Environment", "Cluster"]
    names = ["Environment", "Cluster", "Subnets", "LoadBalancerSecurityGroup", "ZoneId", "DomainName", "LogBucket"]
    return names + (["ServiceRole"] if load_balancer == "classic" else ["VpcId"])


def export_for(kind: str, parameter: str) -> str:
    public = kind == "web-service"
    if parameter == "Subnets":
        return "ExternalSubnets" if public else "InternalSubnets"
    if parameter == "LoadBalancerSecurityGroup":
        return "ExternalElb" if public else "InternalElb"
    return WIRING[parameter][0] or parameter


def _wire(t: Template, kind: str, name: str) -> object:
    """A parameter that, left empty, is imported from `<StackName>-<export>`."""
    _, is_list, description = WIRING[name]
    add_param(t, name, "", f"{description}; empty imports <StackName>-{export_for(kind, name)}",
              "CommaDelimitedList" if is_list else "String")
    condition = f"Import{name}"
    imported = ImportValue(Join("-", [Ref("StackName"), export_for(kind, name)]))
    if is_list:
        t.add_condition(condition, Equals(Join(",", Ref(name)), ""))
        return If(condition, Split(",", imported), Ref(name))
    t.add_condition(condition, Equals(Ref(name), ""))
    return If(condition, imported, Ref(name))


def build_service(svc: ServiceConfig) -> Template:
    kind = svc.kind
    t = new_template(f"stack-cfn {kind}: ECS service on EC2" + ("" if kind == "worker" else f" behind a{'n application' if svc.load_balancer == 'application' else ' classic'} load balancer"))
    add_param(t, "StackName", "", "Stack whose exports (<StackName>-<Output>) fill the empty wiring parameters", AllowedPattern=r"^$|^[A-Za-z][A-Za-z0-9-]*$")
    add_param(t, "Name", None, "Service name: ECS service, task family, container and DNS label", AllowedPattern=r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
    add_param(t, "Image", None, "Container image without tag, e.g. nginx", MinLength=1)
    add_param(t, "Version", "latest", "Image tag", AllowedPattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
    if kind != "worker":
        add_param(t, "Port", None, "Port the container listens on", "Number", MinValue=1, MaxValue=65535)
        if svc.protocol == "HTTP":
            add_param(t, "HealthCheckPath", "/", "HTTP health check path", AllowedPattern=r"^/.*$")
        add_param(t, "DnsName", "", f"Label under the domain; empty uses Name ({'<name>' }.stack.local)")
        t.add_condition(HAS_DNS_NAME, Not(Equals(Ref("DnsName"), "")))
    if svc.load_balancer == "classic" and kind != "worker":
        add_param(t, "HostPort", 0, "Static host port of the classic ELB; 0 uses Port", "Number", MinValue=0, MaxValue=65535)
        t.add_condition("DefaultHostPort", Equals(Ref("HostPort"), 0))
    add_param(t, "DesiredCount", 1 if kind == "worker" else 2, "Tasks to run", "Number", MinValue=0)
    add_param(t, "Cpu", 512, "CPU units per task", "Number", MinValue=128, MaxValue=10240)
    add_param(t, "Memory", 512, "Memory (MiB) per task", "Number", MinValue=128, MaxValue=122880)
    add_param(t, "MinimumHealthyPercent", 100, "Deployment minimum healthy percent", "Number", MinValue=0, MaxValue=100)
    add_param(t, "MaximumPercent", 200, "Deployment maximum percent", "Number", MinValue=100, MaxValue=400)
    add_bool_param(t, "CircuitBreaker", True, "Roll back deployments that do not become healthy")
    add_param(t, "LogRetentionDays", 30, "Days to keep container logs", "Number", AllowedValues=list(LOG_RETENTION_DAYS))
    add_param(t, "TaskRoleArn", "", "IAM role for the task's own AWS calls; empty for none")
    if kind == "web-service":
        add_param(t, "CertificateArn", "", "ACM certificate for HTTPS on 443; empty serves HTTP only")
        add_param(t, "ExternalZoneId", "", "Public hosted zone for an external record; empty for none")
        add_param(t, "ExternalDnsName", "", "Full external name, e.g. www.example.com (with ExternalZoneId)")
        t.add_condition(HAS_EXTERNAL_ZONE, Not(Equals(Ref("ExternalZoneId"), "")))
    if svc.autoscaling:
        add_param(t, "MinCount", svc.autoscaling.min_count, "Auto scaling minimum tasks", "Number", MinValue=0)
        add_param(t, "MaxCount", svc.autoscaling.max_count, "Auto scaling maximum tasks", "Number", MinValue=1)
        add_param(t, "TargetCpu", svc.autoscaling.target_cpu, "Target average CPU percent", "Number", MinValue=1, MaxValue=100)
    wiring = {name: _wire(t, kind, name) for name in wiring_for(kind, svc.load_balancer)}

    balancer = None
    host_port = None
    if kind != "worker":
        if svc.load_balancer == "classic":
            host_port = If("DefaultHostPort", Ref("Port"), Ref("HostPort"))
        balancer = add_balancer(t, svc, wiring, host_port)
    task = add_task(t, svc, dynamic_host_ports=svc.load_balancer == "application", host_port=host_port)
    behind: dict[str, object] = {}
    if balancer:
        behind = {"LoadBalancers": [ecs.LoadBalancer(**lb) for lb in balancer.load_balancers], "HealthCheckGracePeriodSeconds": 60}
        if balancer.uses_service_role:
            behind["Role"] = wiring["ServiceRole"]
    service = t.add_resource(
        ecs.Service(
            "Service",
            ServiceName=Ref("Name"),
            Cluster=wiring["Cluster"],
            TaskDefinition=Ref(task),
            DesiredCount=Ref("DesiredCount"),
            DeploymentConfiguration=ecs.DeploymentConfiguration(
                MinimumHealthyPercent=Ref("MinimumHealthyPercent"),
                MaximumPercent=Ref("MaximumPercent"),
                DeploymentCircuitBreaker=ecs.DeploymentCircuitBreaker(Enable=If("CircuitBreakerOn", True, False), Rollback=If("CircuitBreakerOn", True, False)),
            ),
            PlacementStrategies=[
                ecs.PlacementStrategy(Type="spread", Field="attribute:ecs.availability-zone"),
                ecs.PlacementStrategy(Type="spread", Field="instanceId"),
            ],
            **behind,
            PropagateTags="SERVICE",
            EnableECSManagedTags=True,
            Tags=Tags(Name=Ref("Name"), Environment=wiring["Environment"]),
        )
    )
    if balancer and balancer.depends_on:
        service.DependsOn = balancer.depends_on  # created after its listener, as ECS requires
    t.add_condition("CircuitBreakerOn", is_true("CircuitBreaker"))
    if svc.autoscaling:
        _autoscaling(t, service, wiring["Cluster"])

    t.add_output(Output("Name", Value=GetAtt(service, "Name"), Description="ECS service name"))
    t.add_output(Output("LogGroup", Value=Ref("LogGroup"), Description="CloudWatch Logs group of the containers"))
    if balancer:
        label = If(HAS_DNS_NAME, Ref("DnsName"), Ref("Name"))
        record = t.add_resource(
            route53.RecordSetType(
                "DnsRecord",
                HostedZoneId=wiring["ZoneId"],
                Name=fqdn(label, wiring["DomainName"]),
                Type="A",
                AliasTarget=route53.AliasTarget(HostedZoneId=balancer.zone_id, DNSName=balancer.dns_name, EvaluateTargetHealth=False),
            )
        )
        internal_fqdn = Ref(record)  # a record set's Ref is its name
        t.add_output(Output("Dns", Value=balancer.dns_name, Description="Load balancer DNS name"))
        t.add_output(Output("Elb", Value=balancer.reference, Description="Load balancer (name of a classic ELB, ARN of an ALB)"))
        t.add_output(Output("ZoneId", Value=balancer.zone_id, Description="Load balancer's canonical hosted zone"))
        t.add_output(Output("Fqdn", Value=internal_fqdn, Description="Name in the private zone, e.g. nginx.stack.local"))
        if kind == "web-service":
            t.add_resource(
                route53.RecordSetType(
                    "ExternalDnsRecord",
                    Condition=HAS_EXTERNAL_ZONE,
                    HostedZoneId=Ref("ExternalZoneId"),
                    Name=Ref("ExternalDnsName"),
                    Type="A",
                    AliasTarget=route53.AliasTarget(HostedZoneId=balancer.zone_id, DNSName=balancer.dns_name, EvaluateTargetHealth=False),
                )
            )
            t.add_output(Output("InternalFqdn", Value=internal_fqdn, Description="Name in the private zone"))
            t.add_output(Output("ExternalFqdn", Value=If(HAS_EXTERNAL_ZONE, Ref("ExternalDnsName"), balancer.dns_name),
                                Description="Public name (the load balancer's own without an external zone)"))
    return t


def _autoscaling(t: Template, service: ecs.Service, cluster: object) -> None:
    target = t.add_resource(
        applicationautoscaling.ScalableTarget(
            "ScalableTarget",
            ServiceNamespace="ecs",
            ScalableDimension="ecs:service:DesiredCount",
            ResourceId=Join("/", ["service", cluster, GetAtt(service, "Name")]),
            MinCapacity=Ref("MinCount"),
            MaxCapacity=Ref("MaxCount"),
        )
    )
    t.add_resource(
        applicationautoscaling.ScalingPolicy(
            "CpuScalingPolicy",
            PolicyName=Join("-", [Ref("Name"), "cpu"]),
            PolicyType="TargetTrackingScaling",
            ScalingTargetId=Ref(target),
            TargetTrackingScalingPolicyConfiguration=applicationautoscaling.TargetTrackingScalingPolicyConfiguration(
                PredefinedMetricSpecification=applicationautoscaling.PredefinedMetricSpecification(PredefinedMetricType="ECSServiceAverageCPUUtilization"),
                TargetValue=Ref("TargetCpu"),
                ScaleInCooldown=300,
                ScaleOutCooldown=60,
            ),
        )
    )


def service_parameters(svc: ServiceConfig) -> dict[str, object]:
    """The per-service parameter values for `build_service(svc)`'s template."""
    params: dict[str, object] = {
        "Name": svc.name,
        "Image": svc.image,
        "Version": svc.version,
        "DesiredCount": svc.desired_count,
        "Cpu": svc.cpu,
        "Memory": svc.memory,
        "MinimumHealthyPercent": svc.deployment_minimum_healthy_percent,
        "MaximumPercent": svc.deployment_maximum_percent,
        "CircuitBreaker": "true" if svc.circuit_breaker else "false",
        "LogRetentionDays": svc.log_retention_days,
        "TaskRoleArn": svc.task_role_arn,
    }
    if svc.kind != "worker":
        params.update(Port=svc.port, DnsName=svc.dns_name)
        if svc.protocol == "HTTP":
            params["HealthCheckPath"] = svc.health_check_path
    if svc.load_balancer == "classic" and svc.kind != "worker":
        params["HostPort"] = svc.host_port
    if svc.kind == "web-service":
        params.update(CertificateArn=svc.ssl_certificate_id, ExternalZoneId=svc.external_zone_id, ExternalDnsName=svc.external_dns_name)
    if svc.autoscaling:
        params.update(MinCount=svc.autoscaling.min_count, MaxCount=svc.autoscaling.max_count, TargetCpu=svc.autoscaling.target_cpu)
    return params
