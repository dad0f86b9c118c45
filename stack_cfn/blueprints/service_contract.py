"""The service's contract (service, web-service, worker, shared-service), beside its builder service.py,
and the per-database rows a service takes from the databases it names."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stack_cfn.blueprints.cluster_contract import Cluster
from stack_cfn.blueprints.contract import Assigned, Contract, Out, Param, ParamOptions, PerService, RootName, Wired, always
from stack_cfn.blueprints.database_contract import database_params
from stack_cfn.blueprints.ingress_contract import Ingress
from stack_cfn.blueprints.layer_contract import alarmed
from stack_cfn.blueprints.network_contract import Network
from stack_cfn.blueprints.root_contract import Root
from stack_cfn.model import alarms as ALARM
from stack_cfn.model import aws_facts as F
from stack_cfn.model import deployment as DEPLOY
from stack_cfn.model import rules as R
from stack_cfn.model.config import ServiceConfig

# The contract's predicates are the service's typed facts (model/variants.py, computed once on ServiceConfig).


def _balanced(s: ServiceConfig) -> bool:
    return s.has_balancer


def _public(s: ServiceConfig) -> bool:
    return s.is_public


def _classic(s: ServiceConfig) -> bool:
    return s.is_classic


def _shared(s: ServiceConfig) -> bool:
    return s.is_shared


def _own_alb(s: ServiceConfig) -> bool:
    return s.has_own_alb


def _shared_listeners(s: ServiceConfig) -> Out:
    if not s.is_public:
        return Ingress.Outputs.InternalListeners
    return Ingress.Outputs.PublicHttpListeners if s.serves_plain_http else Ingress.Outputs.PublicHttpsListeners


def _http(s: ServiceConfig) -> bool:
    return s.has_balancer and s.protocol == "HTTP"


def _scaled(s: object) -> bool:
    return getattr(s, "autoscaling", None) is not None


def _shifting(s: ServiceConfig) -> bool:
    """A service released with blue_green, canary or linear (model/deployment.py)."""
    return s.shifts_traffic


def _deploy(read: Callable[[Any], Any], default: Any) -> ParamOptions:
    """A traffic-shifting service's timing: its value from `deployment:`; `release --strategy` changes only these."""
    return ParamOptions(supply=PerService(), default=default, value=lambda s: read(s.deployment), when=_shifting)


def _threshold(attr: str, also: Callable[[Any], bool] = always) -> ParamOptions:
    """An alarm threshold: the template's default is the setting's own default (so alike services share a
    template), the value the service's."""
    default = ALARM.ServiceAlarms.__dataclass_fields__[attr].default
    return ParamOptions(default=default, value=lambda s: getattr(s.alarms, attr), supply=PerService(), when=lambda s: alarmed(s) and also(s))


def _scaling(attr: str) -> ParamOptions:
    """Default and value of an auto-scaling parameter: the service's own setting."""
    read: Callable[[Any], Any] = lambda s: getattr(s.autoscaling, attr)
    return ParamOptions(default=read, value=read, supply=PerService(), when=_scaled)


class Service(Contract[ServiceConfig]):
    """service, web-service and worker: per-service values are parameters, so alike services share one file."""

    StackName = Param("Stack whose exports (<StackName>-<Output>) fill the empty wiring parameters", rule=R.STACK_NAME.with_optional(),
                      default="", supply=RootName())
    Name = Param("Service name: ECS service, task family, container and DNS label", setting="name", supply=PerService())
    Image = Param("Container image without tag, e.g. nginx", setting="image", supply=PerService())
    Version = Param("Image tag", setting="version", supply=PerService())
    Port = Param("Port the container listens on", "Number", rule=R.PORT, setting="port", supply=PerService(), default=None, when=_balanced)
    HealthCheckPath = Param("HTTP health check path", setting="health_check_path", supply=PerService(), when=_http)
    DnsName = Param("Label under the domain; empty uses Name (<name>.stack.local)", setting="dns_name", supply=PerService(), when=_balanced)
    HostPort = Param("Static host port of the classic ELB; 0 uses Port", "Number", setting="host_port", supply=PerService(), when=_classic)
    # Not with auto scaling: CloudFormation would send it with every update of the service, resetting what scaling chose.
    DesiredCount = Param("Tasks to run", "Number", setting="desired_count", supply=PerService(),
                         default=lambda s: s.default_desired_count, value=lambda s: s.desired_tasks, when=lambda s: not _scaled(s))
    Cpu = Param("CPU units per task", "Number", setting="cpu", supply=PerService())
    Memory = Param("Memory (MiB) per task", "Number", setting="memory", supply=PerService())
    MinimumHealthyPercent = Param("Deployment minimum healthy percent", "Number", setting="deployment_minimum_healthy_percent", supply=PerService())
    MaximumPercent = Param("Deployment maximum percent", "Number", setting="deployment_maximum_percent", supply=PerService())
    CircuitBreaker = Param("Roll back deployments that do not become healthy", setting="circuit_breaker", supply=PerService(),
                           when=lambda s: not _shifting(s))  # rolling only (model/aws_facts.py, deployment strategies)
    DeploymentStrategy = Param("How ECS shifts production traffic to a new revision: BLUE_GREEN, CANARY or LINEAR",
                               rule=R.OneOf(tuple(DEPLOY.ecs_name(n) for n in DEPLOY.TRAFFIC_SHIFTING)),
                               **_deploy(lambda d: DEPLOY.ecs_name(d.strategy), "BLUE_GREEN"))
    BakeMinutes = Param("Minutes the old revision keeps running after the full shift (instant rollback)", "Number", rule=DEPLOY.MINUTES,
                        **_deploy(lambda d: d.bake, DEPLOY.DEFAULT_BAKE_MINUTES))
    # MinValue 0.1, ECS's floor (cfn-lint checks it): a Range's bounds are whole numbers elsewhere, its cfn() passes this one as is.
    CanaryPercent = Param("CANARY: percent of production traffic shifted first", "Number",
                          rule=R.Range(F.CANARY_MIN_PERCENT, 100),  # type: ignore[arg-type]  # a decimal bound, see above
                          **_deploy(lambda d: d.canary, DEPLOY.DEFAULT_CANARY_PERCENT))
    LinearStepPercent = Param("LINEAR: percent of production traffic shifted per step", "Number",
                              rule=R.Range(int(F.LINEAR_STEP_MIN_PERCENT), 100),
                              **_deploy(lambda d: d.linear_step, DEPLOY.DEFAULT_LINEAR_STEP_PERCENT))
    StepMinutes = Param("CANARY and LINEAR: minutes between traffic shifts", "Number", rule=DEPLOY.MINUTES,
                        **_deploy(lambda d: d.step, DEPLOY.DEFAULT_STEP_MINUTES))
    LogRetentionDays = Param("Days to keep container logs", "Number", setting="log_retention_days", supply=PerService())
    TaskRoleArn = Param("An existing IAM role for the task's own AWS calls; empty: the service's own role (no permissions unless given)",
                        setting="task_role_arn", supply=PerService())
    DeletionProtection = Param("true: the load balancer cannot be deleted until this is set false", setting="deletion_protection",
                               supply=PerService(), when=_own_alb)
    Https = Param("true: a CertificateArn is required (HTTPS on 443, 80 redirects); false: plain HTTP, said explicitly",
                  supply=PerService(), default="true", value=lambda s: "false" if s.https is False else "true", rule=R.OneOf(("true", "false")),
                  when=lambda s: _public(s) and not _shared(s))
    CertificateArn = Param("ACM certificate for HTTPS on 443; empty serves HTTP only", setting="ssl_certificate_id", supply=PerService(),
                           when=lambda s: _public(s) and not _shared(s))
    ExternalZoneId = Param("Public hosted zone for an external record; empty for none", setting="external_zone_id", supply=PerService(), when=_public)
    ExternalDnsName = Param("Full external name, e.g. www.example.com (with ExternalZoneId)", setting="external_dns_name", supply=PerService(),
                            when=_public)
    MinCount = Param("Auto scaling minimum tasks", "Number", rule=R.TASK_COUNT, **_scaling("min_count"))
    MaxCount = Param("Auto scaling maximum tasks", "Number", rule=R.MAX_TASK_COUNT, **_scaling("max_count"))
    TargetCpu = Param("Target average CPU percent", "Number", rule=R.PERCENT, **_scaling("target_cpu"))
    # Wiring: left empty, each is imported from <StackName>-<output>.
    Environment = Param("Environment name", supply=Wired(lambda s: Root.Outputs.Environment), default="")
    Cluster = Param("ECS cluster", supply=Wired(lambda s: Cluster.Outputs.Cluster), default="")
    CapacityProvider = Param("The cluster's capacity provider, the service's capacity provider strategy",
                             supply=Wired(lambda s: Cluster.Outputs.CapacityProvider), default="", when=lambda s: s.launch_type != "fargate")
    VpcId = Param("The stack's VPC", supply=Wired(lambda s: Network.Outputs.VpcId), default="",
                  when=lambda s: (_balanced(s) and not _classic(s)) or s.awsvpc)
    Subnets = Param("Subnets of the load balancer", "CommaDelimitedList", default="", when=lambda s: _balanced(s) and not _shared(s),
                    supply=Wired(lambda s: Network.Outputs.ExternalSubnets if _public(s) else Network.Outputs.InternalSubnets))
    LoadBalancerSecurityGroup = Param("Security group of the load balancer", default="", when=lambda s: _balanced(s) and (not _shared(s) or s.awsvpc),
                                      supply=Wired(lambda s: Network.Outputs.ExternalElb if _public(s) else Network.Outputs.InternalElb))
    ZoneId = Param("Private hosted zone", supply=Wired(lambda s: Network.Outputs.ZoneId), default="", when=_balanced)
    DomainName = Param("Private domain, e.g. stack.local", supply=Wired(lambda s: Network.Outputs.DomainName), default="", when=_balanced)
    LogBucket = Param("Bucket of load balancer access logs", supply=Wired(lambda s: Network.Outputs.LogBucketId), default="",
                      when=lambda s: _balanced(s) and not _shared(s))
    Listeners = Param("Shared load balancers' listeners (one per balancer, comma separated)", "CommaDelimitedList", default="", when=_shared,
                      supply=Wired(_shared_listeners))
    BalancerDnsNames = Param("Shared load balancers' DNS names", "CommaDelimitedList", default="", when=_shared,
                             supply=Wired(lambda s: Ingress.Outputs.PublicDnsNames if _public(s) else Ingress.Outputs.InternalDnsNames))
    BalancerZoneIds = Param("Shared load balancers' canonical hosted zones", "CommaDelimitedList", default="", when=_shared,
                            supply=Wired(lambda s: Ingress.Outputs.PublicZoneIds if _public(s) else Ingress.Outputs.InternalZoneIds))
    BalancerIndex = Param("Which shared load balancer (from 0) holds this service's host rule", "Number", rule=R.Range(0, 999), default=0,
                          supply=Assigned(), when=_shared)
    AlarmTopic = Param("SNS topic the service's alarms notify", supply=Wired(lambda s: Network.Outputs.AlarmTopic), default="", when=alarmed)
    CpuHigh = Param("Alarm at this average CPU percent (10 minutes)", "Number", rule=R.PERCENT, **_threshold("cpu_high"))
    MemoryHigh = Param("Alarm at this average memory percent (10 minutes)", "Number", rule=R.PERCENT, **_threshold("memory_high"))
    TasksMissingMinutes = Param("Alarm when fewer tasks run than desired for this many minutes", "Number", rule=ALARM.MINUTES,
                                **_threshold("tasks_missing_minutes"))
    Http5xx = Param("Alarm on this many target 5xx responses in 5 minutes", "Number", rule=ALARM.FIVE_XX,
                    **_threshold("http_5xx", _balanced))
    UnhealthyTargets = Param("Alarm when this many targets stay unhealthy (10 minutes)", "Number", rule=ALARM.UNHEALTHY,
                             **_threshold("unhealthy_targets", _balanced))
    BalancerFullNames = Param("Shared load balancers' full names (CloudWatch dimension)", "CommaDelimitedList", default="",
                              when=lambda s: _shared(s) and alarmed(s),
                              supply=Wired(lambda s: Ingress.Outputs.PublicFullNames if _public(s) else Ingress.Outputs.InternalFullNames))
    RulePriority = Param("Priority of the service's host rule, unique on its load balancer", "Number", rule=R.Range(1, 50000), default=None,
                         supply=Assigned(), when=_shared)
    ShiftedRulePriority = Param("Traffic shifting on a shared ALB: the host rule's priority (RulePriority is the test rule's, evaluated first)",
                                "Number", rule=R.Range(1, 50000), default=None, supply=Assigned(), when=lambda s: _shared(s) and _shifting(s))
    ServiceRole = Param("ECS service role (classic ELB registration)", supply=Wired(lambda s: Cluster.Outputs.IamRole), default="", when=_classic)

    @classmethod
    def declared(cls, shape: ServiceConfig) -> list[Param]:
        return [*super().declared(shape), *database_params(shape, Service)]

    class Outputs:
        Name = Out("ECS service name", export=False)
        LogGroup = Out("CloudWatch Logs group of the containers", export=False)
        Dns = Out("Load balancer DNS name", export=False, when=lambda s: _balanced(s) and not _shared(s))
        Elb = Out("Load balancer (name of a classic ELB, ARN of an ALB)", export=False, when=lambda s: _balanced(s) and not _shared(s))
        ZoneId = Out("Load balancer's canonical hosted zone", export=False, when=lambda s: _balanced(s) and not _shared(s))
        Fqdn = Out("Name in the private zone, e.g. nginx.stack.local", export=False, when=_balanced)
        InternalFqdn = Out("Name in the private zone", export=False, when=_public)
        ExternalFqdn = Out("Public name (the load balancer's own without an external zone)", export=False, when=lambda s: _public(s) and not _shared(s))
