"""The capabilities a stack operation must acknowledge, derived from the templates: one place for AWS's rule.

AWS CloudFormation API Reference, CreateChangeSet / CreateStack / CreateStackSet, parameter `Capabilities`
(https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateChangeSet.html):
- CAPABILITY_IAM and CAPABILITY_NAMED_IAM: "If you have IAM resources, you can specify either capability.
  If you have IAM resources with custom names, you must specify CAPABILITY_NAMED_IAM. If you don't specify
  either of these capabilities, CloudFormation returns an InsufficientCapabilities error." The listed
  resources are all AWS::IAM:: types (AccessKey, Group, InstanceProfile, ManagedPolicy, Policy, Role, User,
  UserToGroupAddition, and the inline *Policy types).
- CAPABILITY_AUTO_EXPAND: for templates with macros (a `Transform`), and for nested stacks whose templates
  hold macros; stack-cfn acknowledges it whenever the tree has nested stacks, as `aws cloudformation deploy`
  users are told to for nested applications.

The capabilities of an operation are those of its whole tree: a change set of the root creates its nested
stacks with the root's acknowledgement (AWS::CloudFormation::Stack has no Capabilities property).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

IAM = "CAPABILITY_IAM"
NAMED_IAM = "CAPABILITY_NAMED_IAM"
AUTO_EXPAND = "CAPABILITY_AUTO_EXPAND"
ORDER = (IAM, NAMED_IAM, AUTO_EXPAND)

IAM_PREFIX = "AWS::IAM::"
# The property that gives each IAM resource type a custom name (AWS::IAM::<Type> reference pages:
# "If you specify a name, you must specify the CAPABILITY_NAMED_IAM value to acknowledge your template's capabilities").
NAME_PROPERTY = {
    "AWS::IAM::User": "UserName",
    "AWS::IAM::Role": "RoleName",
    "AWS::IAM::Group": "GroupName",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
    "AWS::IAM::InstanceProfile": "InstanceProfileName",
}
NESTED_STACK = "AWS::CloudFormation::Stack"


def template_capabilities(template: Mapping[str, Any]) -> set[str]:
    """What one template, on its own, needs acknowledged."""
    needed: set[str] = set()
    if template.get("Transform"):
        needed.add(AUTO_EXPAND)
    for resource in (template.get("Resources") or {}).values():
        kind = str(resource.get("Type", ""))
        if kind.startswith(IAM_PREFIX):
            needed.add(IAM)
            name = NAME_PROPERTY.get(kind)
            if name and (resource.get("Properties") or {}).get(name) is not None:
                needed.add(NAMED_IAM)
        elif kind == NESTED_STACK:
            needed.add(AUTO_EXPAND)
        elif kind.startswith("AWS::Serverless::"):
            needed.add(AUTO_EXPAND)
    return needed


def required_capabilities(files: Mapping[str, str] | Iterable[str]) -> tuple[str, ...]:
    """The capabilities AWS requires for an operation over these templates (JSON texts: a root and its nested
    templates, or a service group and its own), in AWS's order. Pass every template of one operation."""
    bodies = files.values() if isinstance(files, Mapping) else files
    needed: set[str] = set()
    for body in bodies:
        needed |= template_capabilities(json.loads(body))
    if NAMED_IAM in needed:
        needed.add(IAM)  # harmless alongside NAMED_IAM, and what `aws cloudformation deploy` users pass
    return tuple(c for c in ORDER if c in needed)


def missing(required: Iterable[str], given: Iterable[str]) -> list[str]:
    """What `given` lacks: CAPABILITY_NAMED_IAM covers CAPABILITY_IAM, never the reverse."""
    have = set(given)
    if NAMED_IAM in have:
        have.add(IAM)
    gaps = [c for c in required if c not in have]
    if NAMED_IAM in gaps and IAM in gaps:
        gaps.remove(IAM)
    return gaps


def of_operation(files: Mapping[str, str], operations: Mapping[str, Iterable[str]], top: str) -> tuple[str, ...]:
    """The capabilities of the stack made from the top-level template `top` (its own nested templates included)."""
    names = [top, *operations.get(top, ())]
    return required_capabilities({name: files[name] for name in names if name in files})


def cli_flag(capabilities: Iterable[str]) -> str:
    """`--capabilities ...` as `aws cloudformation deploy` takes it (empty when nothing is needed)."""
    caps = list(capabilities)
    return f"--capabilities {' '.join(caps)}" if caps else ""
