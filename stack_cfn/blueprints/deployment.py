"""A service's release strategy (model/deployment.py) as ECS-native deployment configuration.

rolling: the service's DeploymentConfiguration as before, with Strategy ROLLING (and a bake time when given).
blue_green, canary, linear: ECS shifts production traffic between two target groups by reweighting a listener
rule, so the template adds, beside the service's target group:
- `AlternateTargetGroup`, a copy of it, where ECS registers the new revision's tasks;
- `ProductionListenerRule`, forwarding to both groups weighted 1 and 0 (on a shared ALB: the service's host rule
  itself), and `TestListenerRule`, the same forward for requests carrying the test header (`X-Stack-Cfn-Test:
  green`), evaluated first, so a lifecycle hook or a person can try the new revision before production moves;
- `DeploymentRole`, the infrastructure role ECS assumes to reweight them (AWS's managed policy for it);
- with `alarms:`, the service's 5xx and unhealthy-target alarms on the alternate group too, and all four as the
  deployment's alarms with rollback (a rolling service with `deployment:` gets its two as well).
The strategy and its timing are parameters (Service contract), so `release --strategy` changes parameters only.
Every rule relied on is in model/aws_facts.py, "deployment strategies".
"""

from __future__ import annotations

from dataclasses import dataclass

from awacs import awslambda as awacs_lambda
from awacs.aws import Allow, Policy, Statement
from troposphere import Equals, If, Join, NoValue, Partition, Ref, Tags, Template, cloudwatch, ecs, iam
from troposphere import elasticloadbalancingv2 as elbv2

from stack_cfn.blueprints import iam as policies
from stack_cfn.blueprints.loadbalancer import HAS_CERTIFICATE, Balancer
from stack_cfn.blueprints.parts import Parts
from stack_cfn.blueprints.service_contract import Service as S
from stack_cfn.errors import ConfigError
from stack_cfn.model import aws_facts as F
from stack_cfn.model.config import ServiceConfig
from stack_cfn.model.deployment import ecs_name

IS_CANARY = "IsCanaryDeployment"
IS_LINEAR = "IsLinearDeployment"
TEST_HEADER, TEST_HEADER_VALUE = "X-Stack-Cfn-Test", "green"
# On a shared ALB the test rule takes the service's assigned priority and its host rule this much more: rules of other services
# match other hosts, so only the order of a service's own two rules matters, and the test rule (host and header) must come first.
SHIFTED_PRIORITY_OFFSET = 25000
OWN_TEST_PRIORITY, OWN_PRODUCTION_PRIORITY = 1, 2  # the service's own ALB holds only these two rules
ALARMS_WIRED = ("Http5xxAlarm", "UnhealthyTargetsAlarm")  # blueprints/alarms.py service_alarms, when behind a load balancer
ALTERNATE_ALARMS = ("AlternateHttp5xxAlarm", "AlternateUnhealthyTargetsAlarm")


@dataclass(frozen=True)
class Shifting:
    """What the ECS service needs from the traffic-shifting resources."""

    advanced: ecs.AdvancedConfiguration
    depends_on: tuple[str, ...]  # its listener rules, which the service refers to
    alternate: elbv2.TargetGroup


def shifted_priorities(svc: ServiceConfig, priority: int) -> dict[str, int]:
    """The Assigned value a traffic-shifting service behind a shared ALB has beside its RulePriority (its host rule's priority)."""
    if not svc.shifts_traffic:
        return {}
    if priority > SHIFTED_PRIORITY_OFFSET:
        raise ConfigError(f"services.{svc.name}.deployment.strategy", f"needs a second listener rule, and the service's rule priority "
                          f"{priority} leaves no room for it (at most {SHIFTED_PRIORITY_OFFSET} with traffic shifting)",
                          "give the service a lower priority in the placement file, or use strategy: rolling")
    return {S.ShiftedRulePriority.name: priority + SHIFTED_PRIORITY_OFFSET}


def _forward(primary: elbv2.TargetGroup, alternate: elbv2.TargetGroup) -> list[elbv2.ListenerRuleAction]:
    groups = [elbv2.TargetGroupTuple(TargetGroupArn=Ref(primary), Weight=F.PRODUCTION_WEIGHT),
              elbv2.TargetGroupTuple(TargetGroupArn=Ref(alternate), Weight=F.ALTERNATE_WEIGHT)]
    return [elbv2.ListenerRuleAction(Type="forward", ForwardConfig=elbv2.ForwardConfig(TargetGroups=groups))]


def _test_condition() -> elbv2.Condition:
    return elbv2.Condition(Field="http-header", HttpHeaderConfig=elbv2.HttpHeaderConfig(HttpHeaderName=TEST_HEADER, Values=[TEST_HEADER_VALUE]))


def _alternate_group(t: Template) -> tuple[elbv2.TargetGroup, elbv2.TargetGroup]:
    primary = t.resources["TargetGroup"]
    alternate = t.add_resource(elbv2.TargetGroup("AlternateTargetGroup", **primary.properties))
    return primary, alternate


def add_traffic_shifting(parts: Parts, balancer: Balancer) -> Shifting:
    """The alternate target group, the production and test listener rules and the role ECS reweights them with."""
    t, p = parts.t, parts.p
    primary, alternate = _alternate_group(t)
    forward = _forward(primary, alternate)
    if S.ShiftedRulePriority in p:  # a shared ALB: the host rule becomes the production rule
        production = t.resources["ListenerRule"]
        production.Actions = forward
        production.Priority = p[S.ShiftedRulePriority]
        test = elbv2.ListenerRule("TestListenerRule", ListenerArn=production.ListenerArn, Priority=p[S.RulePriority],
                                  Conditions=[*production.Conditions, _test_condition()], Actions=forward)
    else:
        listener = If(HAS_CERTIFICATE, Ref("HttpsListener"), Ref("HttpListener")) if HAS_CERTIFICATE in t.conditions else Ref("HttpListener")
        production = t.add_resource(elbv2.ListenerRule(
            "ProductionListenerRule", ListenerArn=listener, Priority=OWN_PRODUCTION_PRIORITY, Actions=forward,
            Conditions=[elbv2.Condition(Field="path-pattern", PathPatternConfig=elbv2.PathPatternConfig(Values=["/*"]))]))
        test = elbv2.ListenerRule("TestListenerRule", ListenerArn=listener, Priority=OWN_TEST_PRIORITY, Conditions=[_test_condition()],
                                  Actions=forward)
    t.add_resource(test)
    role = t.add_resource(iam.Role(
        "DeploymentRole", AssumeRolePolicyDocument=policies.trust(F.ECS_INFRASTRUCTURE_PRINCIPAL),
        ManagedPolicyArns=[Join("", ["arn:", Partition, f":iam::aws:policy/{F.ECS_LOAD_BALANCER_POLICY}"])],
        Tags=Tags(Name=p[S.Name], Environment=parts.wired(S.Environment))))
    advanced = ecs.AdvancedConfiguration(AlternateTargetGroupArn=Ref(alternate), ProductionListenerRule=Ref(production),
                                         TestListenerRule=Ref(test), RoleArn=role.get_att("Arn"))
    return Shifting(advanced, (production.title, test.title), alternate)


def deployment_configuration(parts: Parts, breaker: object) -> ecs.DeploymentConfiguration:
    """The service's DeploymentConfiguration: rolling with the circuit breaker (`breaker`), or a traffic-shifting strategy."""
    p, deployment = parts.p, parts.svc.deployment
    limits = {"MinimumHealthyPercent": p[S.MinimumHealthyPercent], "MaximumPercent": p[S.MaximumPercent]}
    if deployment is None or not deployment.shifts_traffic:
        bake = {} if deployment is None or deployment.bake is None else {"BakeTimeInMinutes": deployment.bake}
        strategy = {} if deployment is None else {"Strategy": ecs_name(deployment.strategy)}
        return ecs.DeploymentConfiguration(**limits, DeploymentCircuitBreaker=ecs.DeploymentCircuitBreaker(Enable=breaker, Rollback=breaker),
                                           **strategy, **bake)
    parts.t.add_condition(IS_CANARY, Equals(p[S.DeploymentStrategy], ecs_name("canary")))
    parts.t.add_condition(IS_LINEAR, Equals(p[S.DeploymentStrategy], ecs_name("linear")))
    hooks = {"LifecycleHooks": lifecycle_hooks(parts)} if deployment.hooks else {}
    return ecs.DeploymentConfiguration(
        **limits, **hooks, Strategy=p[S.DeploymentStrategy], BakeTimeInMinutes=p[S.BakeMinutes],
        CanaryConfiguration=If(IS_CANARY, ecs.CanaryConfiguration(CanaryPercent=p[S.CanaryPercent], CanaryBakeTimeInMinutes=p[S.StepMinutes]),
                               NoValue),
        LinearConfiguration=If(IS_LINEAR, ecs.LinearConfiguration(StepPercent=p[S.LinearStepPercent], StepBakeTimeInMinutes=p[S.StepMinutes]),
                               NoValue))


def lifecycle_hooks(parts: Parts) -> list[ecs.DeploymentLifecycleHook]:
    """The service's hooks; Lambda hooks with a role ECS assumes to invoke exactly those functions (model/aws_facts.py, lifecycle hooks)."""
    hooks = parts.svc.deployment.hooks if parts.svc.deployment else ()
    functions = sorted({h.lambda_arn for h in hooks if h.lambda_arn})
    role = parts.t.add_resource(iam.Role(
        "DeploymentHookRole", AssumeRolePolicyDocument=policies.trust(F.ECS_INFRASTRUCTURE_PRINCIPAL),
        Policies=[iam.Policy(PolicyName="invoke-lifecycle-hooks", PolicyDocument=Policy(
            Version="2012-10-17", Statement=[Statement(Effect=Allow, Action=[awacs_lambda.InvokeFunction], Resource=functions)]))],
        Tags=Tags(Name=parts.p[S.Name], Environment=parts.wired(S.Environment)))) if functions else None
    return [ecs.DeploymentLifecycleHook(LifecycleStages=[h.ecs_stage], TargetType="PAUSE") if h.pause else
            ecs.DeploymentLifecycleHook(LifecycleStages=[h.ecs_stage], TargetType="AWS_LAMBDA", HookTargetArn=h.lambda_arn,
                                        RoleArn=role.get_att("Arn"))  # type: ignore[union-attr]  # a Lambda hook makes the role
            for h in hooks]


def wire_alarms(parts: Parts, service: ecs.Service, shifting: Shifting | None) -> None:
    """The service's 5xx and unhealthy-target alarms (and, shifting traffic, the same on the alternate group) stop and roll back a
    deployment (DeploymentConfiguration.Alarms, Rollback true)."""
    t = parts.t
    names = [name for name in ALARMS_WIRED if name in t.resources]
    if shifting is not None:
        names += [_alternate_alarm(t, t.resources[name], alias, shifting.alternate) for name, alias in zip(ALARMS_WIRED, ALTERNATE_ALARMS, strict=True)
                  if name in t.resources]
    if names:
        service.DeploymentConfiguration.Alarms = ecs.DeploymentAlarms(AlarmNames=[Ref(n) for n in names], Enable=True, Rollback=True)


def _alternate_alarm(t: Template, alarm: cloudwatch.Alarm, title: str, alternate: elbv2.TargetGroup) -> str:
    """A copy of an alarm on the primary target group's metric, on the alternate group's."""
    properties = dict(alarm.properties)
    properties["Dimensions"] = [cloudwatch.MetricDimension(Name=d.Name, Value=alternate.get_att("TargetGroupFullName") if d.Name == "TargetGroup"
                                                           else d.Value) for d in alarm.properties["Dimensions"]]
    properties["AlarmDescription"] = f"{alarm.properties['AlarmDescription']} (the alternate target group of blue/green, canary and linear)"
    t.add_resource(cloudwatch.Alarm(title, **properties))
    return title
