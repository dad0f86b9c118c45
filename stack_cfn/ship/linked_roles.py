"""Service-linked roles a first deploy in a new account needs before CloudFormation starts.

AWS services create most of their service-linked roles themselves the first time they need them. Amazon ECS
does not reliably do so when the cluster or capacity provider is made through CloudFormation: in a new account
AWS::ECS::Cluster and AWS::ECS::CapacityProvider fail with "Unable to assume the service linked role. Please
verify that the ECS service linked role exists" / "ECS Service Linked Role does not exist"
(aws-cloudformation/cloudformation-coverage-roadmap#818, terraform-aws-modules/terraform-aws-ecs#26), and a
rerun succeeds because the failed call made the role meanwhile. An AWS::IAM::ServiceLinkedRole resource is no
answer: it fails when the role exists, as it does in every account that ever used ECS. So `deploy` makes the
role first, through IAM CreateServiceLinkedRole, and treats "has been taken in this account" as already there.

The other services this stack uses create their roles themselves, so nothing is done for them:
- Amazon EC2 Auto Scaling: "By default, Amazon EC2 Auto Scaling uses a service-linked role named
  AWSServiceRoleForAutoScaling, which it creates if it does not exist" (CreateAutoScalingGroup, ServiceLinkedRoleARN).
- Elastic Load Balancing and Amazon RDS: created by the service on the first load balancer / DB instance
  (ELB and RDS user guides, "Using service-linked roles": "You don't need to manually create a service-linked role").
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import botocore.exceptions

from stack_cfn.ship.aws import AwsTarget
from stack_cfn.ship.aws_errors import busy_means


@dataclass(frozen=True)
class LinkedRole:
    service: str  # the AWSServiceName CreateServiceLinkedRole takes
    role: str  # the role's name in the account
    used_by: frozenset[str]  # resource types that need it before they are made


NEEDED = (
    LinkedRole("ecs.amazonaws.com", "AWSServiceRoleForECS",
               frozenset({"AWS::ECS::Cluster", "AWS::ECS::CapacityProvider", "AWS::ECS::Service", "AWS::ECS::ClusterCapacityProviderAssociations"})),
)


def needed(bodies: Iterable[str]) -> list[LinkedRole]:
    """The roles the templates (JSON texts) need made before their first deploy."""
    types = {str(r.get("Type")) for body in bodies for r in (json.loads(body).get("Resources") or {}).values()}
    return [role for role in NEEDED if role.used_by & types]


def is_taken(exc: botocore.exceptions.ClientError) -> bool:
    """IAM's answer for a role that exists: InvalidInput "Service role name ... has been taken in this account"
    (moto answers EntityAlreadyExists)."""
    error = exc.response.get("Error", {})
    return "has been taken" in str(error.get("Message", "")) or error.get("Code") == "EntityAlreadyExists"


def _exists(iam: Any, role: LinkedRole) -> bool:
    try:
        iam.get_role(RoleName=role.role)
        return True
    except botocore.exceptions.ClientError:
        return False  # absent, or not allowed to read it: creating it says which


def ensure(target: AwsTarget, bodies: Iterable[str]) -> Iterator[str]:
    """Create the roles the templates need and the account lacks; say what was done (nothing when all are there)."""
    roles = needed(bodies)
    if not roles:
        return
    iam = target.client("iam")
    for role in roles:
        with busy_means("IAM CreateServiceLinkedRole", "nothing was deployed"):
            if _exists(iam, role):
                continue
            try:
                iam.create_service_linked_role(AWSServiceName=role.service)
            except botocore.exceptions.ClientError as exc:
                if is_taken(exc):
                    continue
                if exc.response.get("Error", {}).get("Code") in ("AccessDenied", "AccessDeniedException"):
                    yield (f"warning: could not create the service-linked role {role.role} (access denied); if this account never used "
                           f"{role.service.split('.')[0].upper()}, the first deploy fails until someone runs: "
                           f"aws iam create-service-linked-role --aws-service-name {role.service}")
                    continue
                raise
        yield f"created the service-linked role {role.role} ({role.service}): a new account lacks it and CloudFormation cannot make it"
