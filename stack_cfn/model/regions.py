"""What stack-cfn knows about AWS regions.

ELB access logs are written by a per-region AWS account in regions opened
before August 2022, and by the service principal
`logdelivery.elasticloadbalancing.amazonaws.com` in regions opened since.
Source: the Elastic Load Balancing user guide, "Enable access logs".
"""

from __future__ import annotations

from types import MappingProxyType

ELB_LOG_DELIVERY_PRINCIPAL = "logdelivery.elasticloadbalancing.amazonaws.com"

ELB_LOG_ACCOUNTS = MappingProxyType(
    {
        "us-east-1": "127311923021",
        "us-east-2": "033677994240",
        "us-west-1": "027434742980",
        "us-west-2": "797873946194",
        "af-south-1": "098369216593",
        "ap-east-1": "754344448648",
        "ap-south-1": "718504428378",
        "ap-northeast-1": "582318560864",
        "ap-northeast-2": "600734575887",
        "ap-northeast-3": "383597477331",
        "ap-southeast-1": "114774131450",
        "ap-southeast-2": "783225319266",
        "ap-southeast-3": "589379963580",
        "ca-central-1": "985666609251",
        "eu-central-1": "054676820928",
        "eu-west-1": "156460612806",
        "eu-west-2": "652711504416",
        "eu-west-3": "009996457667",
        "eu-south-1": "635631232127",
        "eu-north-1": "897822967062",
        "me-south-1": "076674570225",
        "sa-east-1": "507241528517",
        "us-gov-west-1": "048591011584",
        "us-gov-east-1": "190560391635",
        "cn-north-1": "638102146993",
        "cn-northwest-1": "037604701340",
    }
)

# Regions that take the log-delivery service principal instead of an account.
SERVICE_PRINCIPAL_REGIONS = frozenset(
    {
        "ap-south-2",
        "ap-southeast-4",
        "ap-southeast-5",
        "ap-southeast-7",
        "ap-east-2",
        "ca-west-1",
        "eu-central-2",
        "eu-south-2",
        "il-central-1",
        "me-central-1",
        "mx-central-1",
    }
)

KNOWN_REGIONS = tuple(sorted(set(ELB_LOG_ACCOUNTS) | SERVICE_PRINCIPAL_REGIONS))

# Mapping value that tells the template to use the service principal.
USE_SERVICE_PRINCIPAL = "service-principal"


def elb_log_mapping() -> dict[str, dict[str, str]]:
    """A CloudFormation Mappings table: region -> {"Account": id or "service-principal"}."""
    table = {r: {"Account": a} for r, a in ELB_LOG_ACCOUNTS.items()}
    table.update({r: {"Account": USE_SERVICE_PRINCIPAL} for r in SERVICE_PRINCIPAL_REGIONS})
    return dict(sorted(table.items()))


def is_known_region(region: str) -> bool:
    return region in ELB_LOG_ACCOUNTS or region in SERVICE_PRINCIPAL_REGIONS
