"""Load balancers for services: an Application Load Balancer (default, dynamic host ports) or a
classic ELB (the seed's, static host port). Both: health check 2/2/5/30, 15 s draining, 30 s
idle timeout, cross-zone, access logs under a prefix per service, tags Name/Service/Environment.

Names are left to CloudFormation, which always makes them unique and within the 32-character
limit however long the service name is; the Name tag carries the service's name.
"""

from __future__ import annotations

from dataclasses import dataclass

from troposphere import Equals, GetAtt, If, Join, Not, NoValue, Ref, Tags, Template
from troposphere import elasticloadbalancing as elb
from troposphere import elasticloadbalancingv2 as elbv2

from stack_cfn.model.config import ServiceConfig

HAS_CERTIFICATE = "HasCertificate"
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"


@dataclass(frozen=True)
class Balancer:
    """What the ECS service and the DNS records need from a load balancer."""

    load_balancers: list  # ECS LoadBalancers entries
    depends_on: list[str]  # listeners the service must wait for
    dns_name: object
    zone_id: object
    reference: object  # the LB's name (classic) or ARN (ALB), for outputs
    uses_service_role: bool


def lb_tags(environment: object) -> Tags:
    return Tags(Name=Ref("Name"), Service=Ref("Name"), Environment=environment)


def add_balancer(t: Template, svc: ServiceConfig, wiring: dict[str, object], host_port: object | None) -> Balancer:
    """The service's load balancer; `host_port` is the classic ELB's static instance port."""
    public = svc.kind == "web-service"
    if public:
        t.add_condition(HAS_CERTIFICATE, Not(Equals(Ref("CertificateArn"), "")))
    if svc.load_balancer == "classic":
        return _classic(t, svc, wiring, public, host_port)
    return _application(t, svc, wiring, public)


def _application(t: Template, svc: ServiceConfig, w: dict[str, object], public: bool) -> Balancer:
    lb = t.add_resource(
        elbv2.LoadBalancer(
            "LoadBalancer",
            Type="application",
            Scheme="internet-facing" if public else "internal",
            Subnets=w["Subnets"],
            SecurityGroups=[w["LoadBalancerSecurityGroup"]],
            LoadBalancerAttributes=[
                elbv2.LoadBalancerAttributes(Key="idle_timeout.timeout_seconds", Value="30"),
                elbv2.LoadBalancerAttributes(Key="access_logs.s3.enabled", Value="true"),
                elbv2.LoadBalancerAttributes(Key="access_logs.s3.bucket", Value=w["LogBucket"]),
                elbv2.LoadBalancerAttributes(Key="access_logs.s3.prefix", Value=Ref("Name")),
            ],
            Tags=lb_tags(w["Environment"]),
        )
    )
    target_group = t.add_resource(
        elbv2.TargetGroup(
            "TargetGroup",
            VpcId=w["VpcId"],
            Port=Ref("Port"),
            Protocol="HTTP",
            TargetType="instance",
            HealthCheckPath=Ref("HealthCheckPath"),
            HealthCheckIntervalSeconds=30,
            HealthCheckTimeoutSeconds=5,
            HealthyThresholdCount=2,
            UnhealthyThresholdCount=2,
            Matcher=elbv2.Matcher(HttpCode="200-399"),
            TargetGroupAttributes=[elbv2.TargetGroupAttribute(Key="deregistration_delay.timeout_seconds", Value="15")],
            Tags=lb_tags(w["Environment"]),
        )
    )
    forward = [elbv2.Action(Type="forward", TargetGroupArn=Ref(target_group))]
    listeners = ["HttpListener"]
    if public:
        redirect = [elbv2.Action(Type="redirect", RedirectConfig=elbv2.RedirectConfig(Protocol="HTTPS", Port="443", StatusCode="HTTP_301"))]
        t.add_resource(elbv2.Listener("HttpListener", LoadBalancerArn=Ref(lb), Port=80, Protocol="HTTP",
                                      DefaultActions=If(HAS_CERTIFICATE, redirect, forward)))
        t.add_resource(
            elbv2.Listener(
                "HttpsListener",
                Condition=HAS_CERTIFICATE,
                LoadBalancerArn=Ref(lb),
                Port=443,
                Protocol="HTTPS",
                SslPolicy=TLS_POLICY,
                Certificates=[elbv2.Certificate(CertificateArn=Ref("CertificateArn"))],
                DefaultActions=forward,
            )
        )
    else:
        t.add_resource(elbv2.Listener("HttpListener", LoadBalancerArn=Ref(lb), Port=80, Protocol="HTTP", DefaultActions=forward))
    return Balancer(
        load_balancers=[{"ContainerName": Ref("Name"), "ContainerPort": Ref("Port"), "TargetGroupArn": Ref(target_group)}],
        depends_on=listeners,
        dns_name=GetAtt(lb, "DNSName"),
        zone_id=GetAtt(lb, "CanonicalHostedZoneID"),
        reference=Ref(lb),
        uses_service_role=False,
    )


def _classic(t: Template, svc: ServiceConfig, w: dict[str, object], public: bool, host_port: object) -> Balancer:
    protocol = svc.protocol
    target = Join("", ["TCP:", host_port]) if protocol == "TCP" else Join("", ["HTTP:", host_port, Ref("HealthCheckPath")])
    listeners = [elb.Listener(LoadBalancerPort="80", Protocol=protocol, InstancePort=host_port, InstanceProtocol=protocol)]
    if public:
        listeners.append(
            If(
                HAS_CERTIFICATE,
                elb.Listener(LoadBalancerPort="443", Protocol="HTTPS", InstancePort=host_port, InstanceProtocol="HTTP", SSLCertificateId=Ref("CertificateArn")),
                NoValue,
            )
        )
    lb = t.add_resource(
        elb.LoadBalancer(
            "LoadBalancer",
            Scheme="internet-facing" if public else "internal",
            Subnets=w["Subnets"],
            SecurityGroups=[w["LoadBalancerSecurityGroup"]],
            CrossZone=True,
            Listeners=listeners,
            HealthCheck=elb.HealthCheck(Target=target, HealthyThreshold="2", UnhealthyThreshold="2", Timeout="5", Interval="30"),
            ConnectionDrainingPolicy=elb.ConnectionDrainingPolicy(Enabled=True, Timeout=15),
            ConnectionSettings=elb.ConnectionSettings(IdleTimeout=30),
            AccessLoggingPolicy=elb.AccessLoggingPolicy(Enabled=True, S3BucketName=w["LogBucket"], S3BucketPrefix=Ref("Name"), EmitInterval=60),
            Tags=lb_tags(w["Environment"]),
        )
    )
    return Balancer(
        load_balancers=[{"ContainerName": Ref("Name"), "ContainerPort": Ref("Port"), "LoadBalancerName": Ref(lb)}],
        depends_on=[],
        dns_name=GetAtt(lb, "DNSName"),
        zone_id=GetAtt(lb, "CanonicalHostedZoneNameID"),
        reference=Ref(lb),
        uses_service_role=True,
    )


def fqdn(label: object, domain: object) -> Join:
    return Join(".", [label, domain])

