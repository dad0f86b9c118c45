"""The ingress layer: shared Application Load Balancers that services with `load_balancer: shared` sit behind.

Internal ones (scheme internal, internal subnets) listen on 80; public ones (internet-facing,
external subnets) listen on 80 and, with the stack's shared_certificate_arn, on 443 with a
TLS 1.2+ policy, where 80 redirects to HTTPS. Every listener's default answer is 404: a request
reaches a service only through its host rule (`<name>.<domain>`, and its external_dns_name),
which the service's own template adds, with its target group. The compiler seats services on
these balancers (model/placement.py) within the per-ALB rule and target-group quotas.
"""

from __future__ import annotations

from troposphere import GetAtt, Join, Ref, Template
from troposphere import elasticloadbalancingv2 as elbv2

from stack_cfn.blueprints.common import add_export_prefix_condition, emit, new_template, tags
from stack_cfn.blueprints.contract import Declared, declare
from stack_cfn.blueprints.ingress_contract import Ingress as I
from stack_cfn.blueprints.ingress_contract import IngressShape
from stack_cfn.blueprints.loadbalancer import TLS_POLICY
from stack_cfn.blueprints.suppressions import INTERNAL_HTTP, SHARED_PUBLIC_HTTP, skipping

NOT_FOUND = [elbv2.Action(Type="fixed-response", FixedResponseConfig=elbv2.FixedResponseConfig(StatusCode="404", ContentType="text/plain",
                                                                                                MessageBody="no service answers this host name"))]
REDIRECT = [elbv2.Action(Type="redirect", RedirectConfig=elbv2.RedirectConfig(Protocol="HTTPS", Port="443", StatusCode="HTTP_301"))]


def build_ingress(shape: IngressShape) -> Template:
    t = new_template(f"stack-cfn ingress: {shape.internal} internal and {shape.public} public shared application load balancer(s)")
    p = declare(t, I, shape)
    add_export_prefix_condition(t)
    internal = [_balancer(t, p, f"Internal{i + 1}", "internal", p[I.InternalSubnets], p[I.InternalElb]) for i in range(shape.internal)]
    public = [_balancer(t, p, f"Public{i + 1}", "internet-facing", p[I.ExternalSubnets], p[I.ExternalElb]) for i in range(shape.public)]
    if internal:
        listeners = [_listener(t, f"Internal{i + 1}HttpListener", lb, 80, NOT_FOUND, INTERNAL_HTTP) for i, lb in enumerate(internal)]
        _outputs(t, internal, listeners, I.Outputs.InternalListeners, I.Outputs.InternalDnsNames, I.Outputs.InternalZoneIds)
        emit(t, I.Outputs.InternalFullNames, Join(",", [GetAtt(lb, "LoadBalancerFullName") for lb in internal]))
    if public:
        http = [_listener(t, f"Public{i + 1}HttpListener", lb, 80, REDIRECT if shape.https else NOT_FOUND, SHARED_PUBLIC_HTTP)
                for i, lb in enumerate(public)]
        _outputs(t, public, http, I.Outputs.PublicHttpListeners, I.Outputs.PublicDnsNames, I.Outputs.PublicZoneIds)
        emit(t, I.Outputs.PublicFullNames, Join(",", [GetAtt(lb, "LoadBalancerFullName") for lb in public]))
    if public and shape.https:
        https = [t.add_resource(elbv2.Listener(f"Public{i + 1}HttpsListener", LoadBalancerArn=Ref(lb), Port=443, Protocol="HTTPS", SslPolicy=TLS_POLICY,
                                               Certificates=[elbv2.Certificate(CertificateArn=p[I.SharedCertificateArn])], DefaultActions=NOT_FOUND))
                 for i, lb in enumerate(public)]
        emit(t, I.Outputs.PublicHttpsListeners, Join(",", [Ref(listener) for listener in https]))
    return t


def _balancer(t: Template, p: Declared, name: str, scheme: str, subnets: object, group: object) -> elbv2.LoadBalancer:
    return t.add_resource(elbv2.LoadBalancer(
        f"{name}Balancer",
        Type="application",
        Scheme=scheme,
        Subnets=subnets,
        SecurityGroups=[group],
        LoadBalancerAttributes=[
            elbv2.LoadBalancerAttributes(Key="idle_timeout.timeout_seconds", Value="30"),
            elbv2.LoadBalancerAttributes(Key="access_logs.s3.enabled", Value="true"),
            elbv2.LoadBalancerAttributes(Key="access_logs.s3.bucket", Value=p[I.LogBucket]),
            elbv2.LoadBalancerAttributes(Key="access_logs.s3.prefix", Value=Join("-", ["shared", name.lower()])),
            elbv2.LoadBalancerAttributes(Key="routing.http.drop_invalid_header_fields.enabled", Value="true"),
            elbv2.LoadBalancerAttributes(Key="deletion_protection.enabled", Value=p[I.SharedDeletionProtection]),
        ],
        Tags=tags(Join("-", [p[I.Name], name.lower()]), p[I.Environment]),
    ))


def _listener(t: Template, logical_id: str, lb: elbv2.LoadBalancer, port: int, actions: list, skips: tuple) -> elbv2.Listener:
    return t.add_resource(elbv2.Listener(logical_id, LoadBalancerArn=Ref(lb), Port=port, Protocol="HTTP", DefaultActions=actions,
                                         Metadata=skipping(*skips)))


def _outputs(t: Template, balancers: list, listeners: list, listener_out: object, dns_out: object, zone_out: object) -> None:
    emit(t, listener_out, Join(",", [Ref(listener) for listener in listeners]))  # type: ignore[arg-type]
    emit(t, dns_out, Join(",", [GetAtt(lb, "DNSName") for lb in balancers]))  # type: ignore[arg-type]
    emit(t, zone_out, Join(",", [GetAtt(lb, "CanonicalHostedZoneID") for lb in balancers]))  # type: ignore[arg-type]
