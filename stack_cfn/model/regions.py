"""What stack-cfn knows about AWS regions.

ELB access logs (Application and Classic Load Balancers) are delivered by the service principal
`logdelivery.elasticloadbalancing.amazonaws.com` in every Region of the commercial partition: first only
in Regions opened since August 2022, and since 2025 in all of them, the older Regions included (Elastic
Load Balancing user guides, "Enable access logs" step 2, and the Classic Load Balancer guide's document
history). The per-Region ELB accounts remain what the AWS GovCloud (US) and China partitions document, so
only those are kept as accounts. A new commercial Region therefore needs no entry here, only its name in
COMMERCIAL_REGIONS (a test compares the list with botocore's endpoint data).
"""

from __future__ import annotations

from types import MappingProxyType

ELB_LOG_DELIVERY_PRINCIPAL = "logdelivery.elasticloadbalancing.amazonaws.com"

# Partitions whose ELB access logs are still delivered by a per-Region account (ALB user guide, "Enable access logs").
ELB_LOG_ACCOUNTS = MappingProxyType(
    {
        "us-gov-west-1": "048591011584",
        "us-gov-east-1": "190560391635",
        "cn-north-1": "638102146993",
        "cn-northwest-1": "037604701340",
    }
)

# The commercial partition ("aws"): ELB logs by the service principal in each.
COMMERCIAL_REGIONS = frozenset(
    {
        "us-east-1", "us-east-2", "us-west-1", "us-west-2", "af-south-1", "ap-east-1", "ap-east-2", "ap-south-1", "ap-south-2",
        "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4",
        "ap-southeast-5", "ap-southeast-6", "ap-southeast-7", "ca-central-1", "ca-west-1", "eu-central-1", "eu-central-2", "eu-west-1",
        "eu-west-2", "eu-west-3", "eu-south-1", "eu-south-2", "eu-north-1", "il-central-1", "me-south-1", "me-central-1", "mx-central-1",
        "sa-east-1",
    }
)

KNOWN_REGIONS = tuple(sorted(COMMERCIAL_REGIONS | set(ELB_LOG_ACCOUNTS)))


def elb_log_mapping() -> dict[str, dict[str, str]]:
    """A CloudFormation Mappings table of the Regions whose ELB logs come from an account: region -> {"Account": id}."""
    return {r: {"Account": a} for r, a in sorted(ELB_LOG_ACCOUNTS.items())}


def is_known_region(region: str) -> bool:
    return region in ELB_LOG_ACCOUNTS or region in COMMERCIAL_REGIONS
