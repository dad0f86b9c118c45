"""Load balancers for services: an Application Load Balancer (default, dynamic host ports) or a
classic ELB (the seed's, static host port). Both: health check 2/2/5/30, 15 s draining, 30 s
idle timeout, cross-zone, access logs under a prefix per service, tags Name/Service/Environment.

Names are left to CloudFormation, which always makes them unique and within the 32-character
limit however long the service name is; the Name tag carries the service's name.
"""

from __future__ import annotations

from dataclasses import dataclass

from troposphere import Equals, GetAtt, If, Join, Not, NoValue, Ref, Select, Tags
from troposphere import elasticloadbalancing as elb
from troposphere import elasticloadbalancingv2 as elbv2

from stack_cfn.blueprints.alarms import dimensions
from stack_cfn.blueprints.parts import Parts
from stack_cfn.blueprints.service_contract import Service as S
from stack_cfn.blueprints.suppressions import INTERNAL_HTTP, PLAIN_HTTP_CHOSEN, REDIRECT_TO_HTTPS, skipping

HAS_CERTIFICATE = "HasCertificate"
SHARED_DNS_NAME = "HasDnsName"  # the service template's condition: DnsName given
HAS_EXTERNAL_NAME = "HasExternalDnsName"
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
# The classic ELB's 443 listener: AWS's TLS 1.2 reference policy instead of the default (which admits TLS 1.0/1.1).
TLS12_CLASSIC_POLICY_NAME = "tls12"
TLS12_CLASSIC_REFERENCE = "ELBSecurityPolicy-TLS-1-2-2017-01"


@dataclass(frozen=True)
class Balancer:
    """What the ECS service and the DNS records need from a load balancer."""

    load_balancers: list  # ECS LoadBalancers entries
    depends_on: list[str]  # listeners the service must wait for
    dns_name: object
    zone_id: object
    reference: object  # the LB's name (classic) or ARN (ALB), for outputs
    uses_service_role: bool
    alarm_metrics: tuple[str, str, list] | None = None  # CloudWatch namespace, its 5xx metric, the dimensions of this service's traffic


def lb_tags(parts: Parts) -> Tags:
    name = parts.p[S.Name]
    return Tags(Name=name, Service=name, Environment=parts.wired(S.Environment))


def add_balancer(parts: Parts, host_port: object | None) -> Balancer:
    """The service's load balancer; `host_port` is the classic ELB's static instance port."""
    public = parts.svc.is_public
    if parts.svc.is_shared:
        return _shared(parts)
    if public:
        parts.t.add_condition(HAS_CERTIFICATE, Not(Equals(parts.p[S.CertificateArn], "")))
        add_https_rule(parts)
    if parts.svc.is_classic:
        return _classic(parts, public, host_port)
    return _application(parts, public)


def _application(parts: Parts, public: bool) -> Balancer:
    t, p = parts.t, parts.p
    lb = t.add_resource(
        elbv2.LoadBalancer(
            "LoadBalancer",
            Type="application",
            Scheme="internet-facing" if public else "internal",
            Subnets=parts.wired(S.Subnets),
            SecurityGroups=[parts.wired(S.LoadBalancerSecurityGroup)],
            LoadBalancerAttributes=[
                elbv2.LoadBalancerAttributes(Key="idle_timeout.timeout_seconds", Value="30"),
                elbv2.LoadBalancerAttributes(Key="access_logs.s3.enabled", Value="true"),
                elbv2.LoadBalancerAttributes(Key="access_logs.s3.bucket", Value=parts.wired(S.LogBucket)),
                elbv2.LoadBalancerAttributes(Key="access_logs.s3.prefix", Value=p[S.Name]),
                elbv2.LoadBalancerAttributes(Key="routing.http.drop_invalid_header_fields.enabled", Value="true"),
                elbv2.LoadBalancerAttributes(Key="deletion_protection.enabled", Value=p[S.DeletionProtection]),
            ],
            Tags=lb_tags(parts),
        )
    )
    target_group = _target_group(parts)
    _listeners(parts, lb, target_group, public)
    return Balancer(
        load_balancers=[{"ContainerName": p[S.Name], "ContainerPort": p[S.Port], "TargetGroupArn": Ref(target_group)}],
        depends_on=["HttpListener"],
        dns_name=GetAtt(lb, "DNSName"),
        zone_id=GetAtt(lb, "CanonicalHostedZoneID"),
        reference=Ref(lb),
        uses_service_role=False,
        alarm_metrics=("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count",
                       dimensions(LoadBalancer=GetAtt(lb, "LoadBalancerFullName"), TargetGroup=GetAtt(target_group, "TargetGroupFullName"))),
    )


def _target_group(parts: Parts) -> elbv2.TargetGroup:
    p = parts.p
    return parts.t.add_resource(
        elbv2.TargetGroup(
            "TargetGroup",
            VpcId=parts.wired(S.VpcId),
            Port=p[S.Port],
            Protocol="HTTP",
            TargetType="instance",
            HealthCheckPath=p[S.HealthCheckPath],
            HealthCheckIntervalSeconds=30,
            HealthCheckTimeoutSeconds=5,
            HealthyThresholdCount=2,
            UnhealthyThresholdCount=2,
            Matcher=elbv2.Matcher(HttpCode="200-399"),
            TargetGroupAttributes=[elbv2.TargetGroupAttribute(Key="deregistration_delay.timeout_seconds", Value="15")],
            Tags=lb_tags(parts),
        )
    )


def _shared(parts: Parts) -> Balancer:
    """A target group and a host rule on the stack's shared load balancer number BalancerIndex (the ingress layer)."""
    t, p = parts.t, parts.p
    target_group = _target_group(parts)
    pick = lambda values: Select(p[S.BalancerIndex], values)  # noqa: E731
    label = If(SHARED_DNS_NAME, p[S.DnsName], p[S.Name])
    hosts = [fqdn(label, parts.wired(S.DomainName))]
    if S.ExternalDnsName in p:
        t.add_condition(HAS_EXTERNAL_NAME, Not(Equals(p[S.ExternalDnsName], "")))
        host_values: object = If(HAS_EXTERNAL_NAME, [*hosts, p[S.ExternalDnsName]], hosts)
    else:
        host_values = hosts
    t.add_resource(elbv2.ListenerRule(
        "ListenerRule", ListenerArn=pick(parts.wired(S.Listeners)), Priority=p[S.RulePriority],
        Conditions=[elbv2.Condition(Field="host-header", HostHeaderConfig=elbv2.HostHeaderConfig(Values=host_values))],
        Actions=[elbv2.ListenerRuleAction(Type="forward", TargetGroupArn=Ref(target_group))]))
    return Balancer(
        load_balancers=[{"ContainerName": p[S.Name], "ContainerPort": p[S.Port], "TargetGroupArn": Ref(target_group)}],
        depends_on=["ListenerRule"],
        dns_name=pick(parts.wired(S.BalancerDnsNames)),
        zone_id=pick(parts.wired(S.BalancerZoneIds)),
        reference=pick(parts.wired(S.Listeners)),
        uses_service_role=False,
        alarm_metrics=("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count",
                       dimensions(LoadBalancer=pick(parts.wired(S.BalancerFullNames)), TargetGroup=GetAtt(target_group, "TargetGroupFullName")))
        if S.BalancerFullNames in p else None,
    )


def _listeners(parts: Parts, lb: elbv2.LoadBalancer, target_group: elbv2.TargetGroup, public: bool) -> None:
    """80 forwards (or, public with a certificate, redirects to 443, which forwards)."""
    t = parts.t
    forward = [elbv2.Action(Type="forward", TargetGroupArn=Ref(target_group))]
    if not public:
        t.add_resource(elbv2.Listener("HttpListener", LoadBalancerArn=Ref(lb), Port=80, Protocol="HTTP", DefaultActions=forward,
                                      Metadata=skipping(*INTERNAL_HTTP)))
        return
    redirect = [elbv2.Action(Type="redirect", RedirectConfig=elbv2.RedirectConfig(Protocol="HTTPS", Port="443", StatusCode="HTTP_301"))]
    t.add_resource(elbv2.Listener("HttpListener", LoadBalancerArn=Ref(lb), Port=80, Protocol="HTTP",
                                  DefaultActions=If(HAS_CERTIFICATE, redirect, forward), Metadata=skipping(*http_skips(parts))))
    t.add_resource(elbv2.Listener(
        "HttpsListener", Condition=HAS_CERTIFICATE, LoadBalancerArn=Ref(lb), Port=443, Protocol="HTTPS", SslPolicy=TLS_POLICY,
        Certificates=[elbv2.Certificate(CertificateArn=parts.p[S.CertificateArn])], DefaultActions=forward))


def http_skips(parts: Parts) -> tuple:
    return PLAIN_HTTP_CHOSEN if parts.svc.serves_plain_http else REDIRECT_TO_HTTPS


def add_https_rule(parts: Parts) -> None:
    """A public web-service has a certificate unless its Https parameter says false: checked by CloudFormation too."""
    parts.t.add_rule("CertificateRequired", {
        "RuleCondition": Equals(parts.p[S.Https], "true"),
        "Assertions": [{"Assert": Not(Equals(parts.p[S.CertificateArn], "")),
                        "AssertDescription": f"a public web-service needs {S.CertificateArn.name}, or {S.Https.name}=false for plain HTTP"}],
    })


def _classic(parts: Parts, public: bool, host_port: object) -> Balancer:
    t, p, protocol = parts.t, parts.p, parts.svc.protocol
    target = Join("", ["TCP:", host_port]) if protocol == "TCP" else Join("", ["HTTP:", host_port, p[S.HealthCheckPath]])
    listeners = [elb.Listener(LoadBalancerPort="80", Protocol=protocol, InstancePort=host_port, InstanceProtocol=protocol)]
    if public:
        listeners.append(
            If(
                HAS_CERTIFICATE,
                elb.Listener(LoadBalancerPort="443", Protocol="HTTPS", InstancePort=host_port, InstanceProtocol="HTTP", SSLCertificateId=p[S.CertificateArn],
                             PolicyNames=[TLS12_CLASSIC_POLICY_NAME]),
                NoValue,
            )
        )
    lb = t.add_resource(
        elb.LoadBalancer(
            "LoadBalancer",
            Scheme="internet-facing" if public else "internal",
            Subnets=parts.wired(S.Subnets),
            SecurityGroups=[parts.wired(S.LoadBalancerSecurityGroup)],
            CrossZone=True,
            Listeners=listeners,
            HealthCheck=elb.HealthCheck(Target=target, HealthyThreshold="2", UnhealthyThreshold="2", Timeout="5", Interval="30"),
            ConnectionDrainingPolicy=elb.ConnectionDrainingPolicy(Enabled=True, Timeout=15),
            ConnectionSettings=elb.ConnectionSettings(IdleTimeout=30),
            Policies=[elb.Policy(PolicyName=TLS12_CLASSIC_POLICY_NAME, PolicyType="SSLNegotiationPolicyType",
                                 Attributes=[elb.PolicyItem(Name="Reference-Security-Policy", Value=TLS12_CLASSIC_REFERENCE)])] if public else NoValue,
            AccessLoggingPolicy=elb.AccessLoggingPolicy(Enabled=True, S3BucketName=parts.wired(S.LogBucket), S3BucketPrefix=p[S.Name], EmitInterval=60),
            Tags=lb_tags(parts),
        )
    )
    return Balancer(
        load_balancers=[{"ContainerName": p[S.Name], "ContainerPort": p[S.Port], "LoadBalancerName": Ref(lb)}],
        depends_on=[],
        dns_name=GetAtt(lb, "DNSName"),
        zone_id=GetAtt(lb, "CanonicalHostedZoneNameID"),
        reference=Ref(lb),
        uses_service_role=True,
        alarm_metrics=("AWS/ELB", "HTTPCode_Backend_5XX", dimensions(LoadBalancerName=Ref(lb))),
    )


def fqdn(label: object, domain: object) -> Join:
    return Join(".", [label, domain])

