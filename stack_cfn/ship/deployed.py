"""What is deployed: each stack's template (GetTemplate) and parameters, its nested stacks by logical id, as the
Trees model/changes.py compares with a new build; and the list of stacks (root, nested, service groups) drift
detection runs on."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from stack_cfn.errors import DeployError
from stack_cfn.model.changes import NESTED_STACK, Tree
from stack_cfn.ship.deploy import nested_stacks

MAX_DEPTH = 10


@dataclass(frozen=True)
class DeployedStack:
    """A stack of the tree: `top` is its top-level stack's name (the root or a service group), `path` the logical ids
    that lead to it from there ("" for the top itself, "MainDatabase" for a nested stack), as change sets name them."""

    name: str  # the stack's name, or for a nested stack its id
    top: str
    path: str = ""

    def resource(self, logical_id: str) -> str:
        return f"{self.path}/{logical_id}" if self.path else logical_id


def read_deployed(cfn: Any, stack: str, file: str) -> tuple[Tree, list[DeployedStack]]:
    """A top-level stack's tree of deployed templates, and every stack in it."""
    found: list[DeployedStack] = []
    return _read(cfn, DeployedStack(stack, stack), file, found, 0), found


def _read(cfn: Any, at: DeployedStack, file: str, found: list[DeployedStack], depth: int) -> Tree:
    if depth > MAX_DEPTH:
        raise DeployError(f"stack {at.top}: nested stacks more than {MAX_DEPTH} deep at {at.path}; stack-cfn makes two levels")
    found.append(at)
    template = deployed_template(cfn, at.name)
    urls = {k: (r.get("Properties") or {}).get("TemplateURL", "") for k, r in (template.get("Resources") or {}).items()
            if isinstance(r, dict) and r.get("Type") == NESTED_STACK}
    nested = {}
    for logical_id, physical in sorted(nested_stacks(cfn, at.name).items()):
        if logical_id in urls:
            child = DeployedStack(physical, at.top, at.resource(logical_id))
            nested[logical_id] = _read(cfn, child, str(urls[logical_id]).rsplit("/", 1)[-1] or logical_id, found, depth + 1)
    return Tree(file, template, nested)


def deployed_template(cfn: Any, stack: str) -> dict[str, Any]:
    """The template a stack was last deployed with (botocore hands a JSON body over already parsed)."""
    body = cfn.get_template(StackName=stack, TemplateStage="Original")["TemplateBody"]
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            raise DeployError(f"stack {stack}: its deployed template is not JSON (stack-cfn deploys JSON); was it deployed by another tool?") from None
    return dict(body)


def deployed_parameters(cfn: Any, stack: str) -> dict[str, str]:
    described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    return {p["ParameterKey"]: p.get("ParameterValue", "") for p in described.get("Parameters", [])}
