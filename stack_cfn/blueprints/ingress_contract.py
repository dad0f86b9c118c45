"""The shared load balancers' contract (ingress.json) and shape, beside its builder ingress.py."""

from __future__ import annotations

import dataclasses
from typing import Any

from stack_cfn.blueprints.contract import Out, Param, Wired
from stack_cfn.blueprints.layer_contract import SG, Layer
from stack_cfn.blueprints.network_contract import Network
from stack_cfn.model import rules as R


@dataclasses.dataclass(frozen=True)
class IngressShape:
    """The ingress layer's shape: the stack, and how many shared load balancers of each scheme it holds."""

    cfg: Any
    internal: int
    public: int

    @property
    def model(self) -> type:
        return type(self.cfg)

    @property
    def https(self) -> bool:
        return bool(self.cfg.shared_certificate_arn)

    def __getattr__(self, name: str) -> Any:
        if name == "cfg":
            raise AttributeError(name)
        return getattr(self.cfg, name)


class Ingress(Layer[IngressShape]):
    """ingress.json: the shared internal and public ALBs that services with load_balancer: shared sit behind, by host name.

    Each list output holds one item per load balancer, in order; a service picks item BalancerIndex."""

    logical_id = "IngressStack"
    filename = "ingress.json"

    @classmethod
    def present(cls, shape: Any) -> bool:
        """A stack (a StackConfig) with services behind the shared load balancers."""
        return bool(getattr(shape, "shared_services", ()))

    InternalSubnets = Param("Subnets of the internal load balancers", "List<AWS::EC2::Subnet::Id>", supply=Wired(lambda c: Network.Outputs.InternalSubnets),
                            when=lambda c: c.internal > 0)
    ExternalSubnets = Param("Subnets of the public load balancers", "List<AWS::EC2::Subnet::Id>", supply=Wired(lambda c: Network.Outputs.ExternalSubnets),
                            when=lambda c: c.public > 0)
    InternalElb = Param("Security group of internal load balancers", SG, supply=Wired(lambda c: Network.Outputs.InternalElb), when=lambda c: c.internal > 0)
    ExternalElb = Param("Security group of public load balancers", SG, supply=Wired(lambda c: Network.Outputs.ExternalElb), when=lambda c: c.public > 0)
    LogBucket = Param("Bucket of load balancer access logs", supply=Wired(lambda c: Network.Outputs.LogBucketId))
    SharedCertificateArn = Param("Certificate of the public HTTPS listener (every shared web service's name)", setting="shared_certificate_arn",
                                 when=lambda c: c.https and c.public > 0)
    SharedDeletionProtection = Param("true: the shared load balancers cannot be deleted until this is set false",
                                     rule=R.OneOf(("true", "false")), default="false")

    class Outputs:
        InternalListeners = Out("HTTP listener of each internal shared load balancer, comma separated", when=lambda c: c.internal > 0)
        InternalDnsNames = Out("DNS name of each internal shared load balancer", when=lambda c: c.internal > 0)
        InternalZoneIds = Out("Canonical hosted zone of each internal shared load balancer", when=lambda c: c.internal > 0)
        PublicHttpListeners = Out("HTTP listener of each public shared load balancer", when=lambda c: c.public > 0)
        PublicHttpsListeners = Out("HTTPS listener of each public shared load balancer", when=lambda c: c.public > 0 and c.https)
        PublicDnsNames = Out("DNS name of each public shared load balancer", when=lambda c: c.public > 0)
        PublicZoneIds = Out("Canonical hosted zone of each public shared load balancer", when=lambda c: c.public > 0)
        InternalFullNames = Out("Full name (CloudWatch's LoadBalancer dimension) of each internal shared load balancer", when=lambda c: c.internal > 0)
        PublicFullNames = Out("Full name of each public shared load balancer", when=lambda c: c.public > 0)
