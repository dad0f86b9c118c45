"""Every deliberate exception to the security gate (checkov), with the reason a reviewer would accept.

A builder attaches them to the one resource they concern (`Metadata: checkov: skip`);
docs/security.md lists each one (a test keeps the two in step).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Skip:
    id: str
    comment: str


LOG_BUCKET_ACCESS_LOGGING = Skip("CKV_AWS_18", "this is the access-log bucket itself: logging it into itself would loop")
LOG_BUCKET_VERSIONING = Skip("CKV_AWS_21", "log objects are written once and never overwritten; versions would only double the storage")
LOG_GROUP_KMS = Skip("CKV_AWS_158", "CloudWatch Logs encrypts log data at rest by default; a customer-managed key is not a setting yet")
INTERNAL_HTTP = (
    Skip("CKV_AWS_2", "internal load balancer: plain HTTP inside the VPC only, from the internal_elb group's VPC range"),
    Skip("CKV_AWS_103", "internal load balancer: plain HTTP inside the VPC only, so no TLS policy applies"),
)
REDIRECT_TO_HTTPS = (
    Skip("CKV_AWS_2", "port 80 only redirects to HTTPS on 443 (the service has a certificate)"),
    Skip("CKV_AWS_103", "port 80 only redirects to HTTPS on 443, which uses a TLS 1.2+ policy"),
)
PLAIN_HTTP_CHOSEN = (
    Skip("CKV_AWS_2", "the stack file says https: false for this web-service explicitly"),
    Skip("CKV_AWS_103", "the stack file says https: false for this web-service explicitly"),
)
SHARED_PUBLIC_HTTP = (
    Skip("CKV_AWS_2", "port 80 of a shared public ALB redirects to HTTPS (with shared_certificate_arn) but for host rules of web services "
                      "whose stack file says https: false; its default answer is 404"),
    Skip("CKV_AWS_103", "port 80 of a shared public ALB redirects to HTTPS, which uses a TLS 1.2+ policy, or serves https: false services"),
)
PUBLIC_WEB_PORTS = Skip("CKV_AWS_260", "public load balancers answer the internet on 80 (redirect or https: false) and 443")

DATABASE_OPTIONS = (
    Skip("CKV_AWS_118", "enhanced monitoring is an option (monitoring_interval); CloudWatch's basic RDS metrics are always on"),
    Skip("CKV_AWS_157", "multi_az is an option, off by default as in the seed (a standby doubles the cost)"),
    Skip("CKV_AWS_161", "iam_authentication is an option; services read the RDS-managed secret instead"),
    Skip("CKV_AWS_162", "iam_authentication is an option; services read the RDS-managed secret instead"),
)
SECRET_DEFAULT_KEY = Skip("CKV_AWS_149", "encrypted with the account's aws/secretsmanager key; a customer-managed key is not a setting yet")

TOPIC_KEY_PUBLISHERS = Skip("CKV_AWS_33", "the principal * is narrowed by condition to this account's Auto Scaling service-linked role, "
                                          "which a key policy cannot name before the account's first Auto Scaling group creates it")

DEAD_LETTER_SSE_SQS = Skip("CKV_AWS_27", "encrypted at rest with SQS-managed keys (SqsManagedSseEnabled), which the check does not read; "
                                         "a KMS key would need the scheduler role's kms grants for nothing more")

IAM_USER_POLICY = Skip("CKV_AWS_40", "the seed's iam-user: a user for software outside AWS, whose policies are its own by design")

ALL: tuple[Skip, ...] = (LOG_BUCKET_ACCESS_LOGGING, LOG_BUCKET_VERSIONING, LOG_GROUP_KMS, *INTERNAL_HTTP, *REDIRECT_TO_HTTPS,
                         *PLAIN_HTTP_CHOSEN, *SHARED_PUBLIC_HTTP, PUBLIC_WEB_PORTS, *DATABASE_OPTIONS, IAM_USER_POLICY,
                         SECRET_DEFAULT_KEY, TOPIC_KEY_PUBLISHERS, DEAD_LETTER_SSE_SQS)


def skipping(*skips: Skip) -> dict[str, Any]:
    """A resource's Metadata suppressing these checks, each with its reason."""
    return {"checkov": {"skip": [{"id": s.id, "comment": s.comment} for s in skips]}}
