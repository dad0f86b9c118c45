"""Every name stack-cfn derives from the stack: written here once, read by the model, the blueprints and ship/.

The stack is `<name>-<environment>` unless --stack-name says otherwise; the
services past the root's room go to service-group stacks `<stack>-services-<n>`
built from `services-<n>.json`; exports are `<stack>-<Output>` (a database's and
an IAM user's `<stack>-<module>-<Output>`); the cluster is `<name>-<environment>`
unless `ecs_cluster_name` is given; the placement file sits beside the stack
file as `<stem>.placement.yaml`. AWS's limits on these names are model/aws_facts.py's.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path, PurePosixPath

from stack_cfn.model import aws_facts as F

GROUP_STEM = "services"  # services-<n>.json, <stack>-services-<n>
GROUP_STACK = re.compile(rf"-{GROUP_STEM}-[1-9][0-9]*$")
PLACEMENT_SUFFIX = ".placement.yaml"


def stack_name(name: str, environment: str) -> str:
    """The default (root) stack name: `<name>-<environment>`."""
    return f"{name}-{environment}"


def cluster_name(name: str, environment: str, given: str = "") -> str:
    """The ECS cluster: `ecs_cluster_name`, else `<name>-<environment>` (two environments of one name get a cluster each)."""
    return given or stack_name(name, environment)


def group_file(number: int) -> str:
    """The template of service group `number`: `services-<n>.json`."""
    return f"{GROUP_STEM}-{number}.json"


def group_stack_name(root_stack: str, number: int) -> str:
    """The stack of service group `number`: `<root>-services-<n>`."""
    return f"{root_stack}-{GROUP_STEM}-{number}"


def group_stack_prefix(root_stack: str) -> str:
    return f"{root_stack}-{GROUP_STEM}-"


def is_group_stack(stack: str, root_stack: str) -> bool:
    """Whether `stack` is a service-group stack of `root_stack`."""
    return stack.startswith(group_stack_prefix(root_stack)) and GROUP_STACK.search(stack) is not None


def group_number(stack: str) -> int:
    """The number of a service-group stack name (`<root>-services-<n>` -> n)."""
    return int(stack.rsplit("-", 1)[1])


def top_stack_name(filename: str, root_file: str, root_stack: str) -> str:
    """The CloudFormation stack of a top-level template: the root's name, or `<root>-<stem>` (`<root>-services-<n>`)."""
    return root_stack if filename == root_file else f"{root_stack}-{PurePosixPath(filename).stem}"


def export_name(stack: str, *parts: str) -> str:
    """An export: `<stack>-<Output>`, a module's `<stack>-<module>-<Output>`."""
    return "-".join((stack, *parts))


def placement_path(config: str | Path) -> Path:
    """The placement file beside the stack file: `<stem>.placement.yaml`."""
    config = Path(config)
    return config.with_name(f"{config.stem}{PLACEMENT_SUFFIX}")


def provider_needs_name(stack: str) -> bool:
    """Whether CloudFormation's own capacity provider name (`<stack>-...`) starts with a prefix ECS refuses
    (aws, ecs, fargate; model/aws_facts.py CAPACITY_PROVIDER_NAME): then stack-cfn names it `cp-<group>`."""
    return stack.lower().startswith(F.CAPACITY_PROVIDER_NAME.forbidden_prefixes)


def capacity_provider_name(name: str, stack: str) -> str:
    """The capacity provider's name as checked at build time: `cp-<stack>-asg` (standing for `cp-<the group's name>`)
    when the stack file's name starts with a refused prefix, else CloudFormation's `<stack>-CapacityProvider-<random>`."""
    return f"{F.CAPACITY_PROVIDER_PREFIX}{stack}-asg" if provider_needs_name(name) else f"{stack}-CapacityProvider"


def iam_user_name(stack: str, user: str) -> str:
    """The IAM user's name: `<stack>-<user>` when it fits IAM's 64 characters; else the same cut to 55 and `-<8 hex
    of its SHA-256>`, keeping the user's own name whole (a 63-character stack name and `ci` give 64). The same inputs
    always give the same name, and it never carries CloudFormation's random nested-stack suffix."""
    full = f"{stack}-{user}"
    limit = F.IAM_USER_NAME.max_length
    if len(full) <= limit:
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()[:8]
    room = limit - len(digest) - 1
    stack_room = room - len(user) - 1
    head = f"{stack[:stack_room].rstrip('-')}-{user}" if stack_room >= 1 else user[:room]
    return f"{head}-{digest}"
