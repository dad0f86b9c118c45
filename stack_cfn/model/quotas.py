"""AWS quotas the compiler checks at build time, in one place, each with its source.

A description that would break one of these is refused before anything is
written or sent, with the quota's name in the message.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Quota:
    name: str  # as AWS names it
    limit: int
    source: str

    def message(self, actual: int, what: str) -> str:
        return f"{what} is {actual}, over the quota '{self.name}' ({self.limit}, {self.source}) by {actual - self.limit}"

    def warning(self, actual: int, what: str) -> str | None:
        """For an adjustable default: a warning when `actual` is over it, else None."""
        if actual <= self.limit:
            return None
        return f"{what} is {actual}, over the default quota '{self.name}' ({self.limit}, {self.source}); request an increase in Service Quotas first"


# CloudFormation user guide, "CloudFormation quotas".
RESOURCES_PER_TEMPLATE = Quota("Resources per template", 500, "CloudFormation quotas")
RESOURCES_PER_OPERATION = Quota("Resources per nested-stack operation", 2500, "CloudFormation quotas: stack operations create, update or delete at most 2,500 resources across a tree of nested stacks")
TEMPLATE_BODY_BYTES = Quota("Template body size in an S3 object", 1_000_000, "CloudFormation quotas")
PARAMETERS_PER_TEMPLATE = Quota("Parameters per template", 200, "CloudFormation quotas")
OUTPUTS_PER_TEMPLATE = Quota("Outputs per template", 200, "CloudFormation quotas")
# Adjustable account defaults: a description past them deploys only after a quota increase, so the build warns.
STACKS_PER_REGION = Quota("Stack count", 2000, "CloudFormation quotas: stacks per account and Region, nested stacks included")

# Elastic Load Balancing user guides, "Quotas for your Application Load Balancers" / "... Classic Load Balancers".
RULES_PER_ALB = Quota("Rules per Application Load Balancer", 100, "Elastic Load Balancing quotas, default rules not counted")
TARGET_GROUPS_PER_ALB = Quota("Target groups per Application Load Balancer", 100, "Elastic Load Balancing quotas")
ALBS_PER_REGION = Quota("Application Load Balancers per Region", 50, "Elastic Load Balancing quotas")
CLASSIC_PER_REGION = Quota("Classic Load Balancers per Region", 20, "Elastic Load Balancing quotas")
TARGET_GROUPS_PER_REGION = Quota("Target Groups per Region", 3000, "Elastic Load Balancing quotas")
RULE_PRIORITIES = 50000  # a listener rule's priority is 1 to 50,000

# Amazon ECS developer guide, "Amazon ECS service quotas": task definition size, 64 KiB.
TASK_DEFINITION_BYTES = 64 * 1024

# IAM and AWS STS quotas: "User policy size cannot exceed 2,048 characters", "Role policy size cannot exceed
# 10,240 characters" (the aggregate of a user's or role's inline policies; IAM does not count white space).
USER_INLINE_POLICY_CHARS = Quota("User policy size", 2048, "IAM and AWS STS quotas: all inline policies of a user, white space not counted")
ROLE_INLINE_POLICY_CHARS = Quota("Role policy size", 10240, "IAM and AWS STS quotas: all inline policies of a role, white space not counted")
