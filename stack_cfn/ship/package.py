"""`stack-cfn package`: the bundle a pipeline deploys as it is, without stack-cfn.

For each top-level stack (the root, then each service group) the bundle holds:
- `<stem>.json`: the template, its nested TemplateURLs pointing at the uploaded, content-addressed templates;
- `<stem>.config.json`: a CodePipeline template configuration file (CloudFormation User Guide, "CloudFormation
  artifacts": {"Parameters": {...}, "Tags": {...}, "StackPolicy": {...}}), for the CloudFormation deploy action's
  TemplateConfiguration;
- `<stem>.parameters.json`, `<stem>.tags.json`, `<stem>.capabilities.json`: the same as JSON lists of strings,
  which `aws cloudformation deploy --parameter-overrides file://... --tags file://... --capabilities file://...`
  takes (the aws CLI reads a `file://` list argument as a JSON list);
- `<stem>.policy.json` and, per nested stack holding state, `<stem>.<NestedId>.policy.json`: the stack policies
  (a parent's policy does not reach its nested stacks: blueprints/stack_policy.py).
`manifest.json` lists the stacks in deploy order, in waves: the stacks of one wave may deploy in parallel, a
wave after the one before it (the service groups import the root's exports).

Everything is sorted JSON with a final newline, and names come from the templates' content: the same
description, bucket, prefix, region and stack name give the same bundle, byte for byte.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import PurePosixPath

from stack_cfn.blueprints import stack_policy as sp
from stack_cfn.blueprints.compiler import Compiled
from stack_cfn.blueprints.group import ServiceGroup
from stack_cfn.ship.capabilities import of_operation

MANIFEST = "manifest.json"
FORMAT = 1


def text(document: object) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def packaged(compiled: Compiled, urls: Mapping[str, str]) -> dict[str, str]:
    """Each top-level template with its nested TemplateURLs set to the uploaded templates' URLs, byte for byte what `upload` sent."""
    from stack_cfn.ship.deploy import _with_urls

    return {top: _with_urls(compiled.files[top], urls) for top in compiled.stacks}


def parameters_of(compiled: Compiled, top: str, stack: str) -> dict[str, str]:
    """The parameters a top-level stack is deployed with: a service group names its root (whose exports it imports)."""
    return {} if top == compiled.root else {ServiceGroup.RootStackName.name: stack}


def bundle(compiled: Compiled, bodies: Mapping[str, str], top_urls: Mapping[str, str], stack: str, where: Mapping[str, str]) -> dict[str, str]:
    """The bundle's files by name. `bodies`: the packaged top-level templates; `top_urls`: where they were uploaded;
    `where`: region, bucket and prefix, recorded in the manifest."""
    from stack_cfn.ship.deploy import FINGERPRINT_TAG, fingerprint

    files: dict[str, str] = {}
    entries = []
    for top in compiled.stacks:
        stem = PurePosixPath(top).stem
        params = parameters_of(compiled, top, stack)
        tags = {FINGERPRINT_TAG: fingerprint(top_urls[top], params)}  # what `stack-cfn deploy` records: it then sees no change
        documents = sp.policies(compiled.files, top)
        capabilities = list(of_operation(compiled.files, compiled.operations, top))  # ship/capabilities.py: the one derivation
        names = {"template": top, "configuration": f"{stem}.config.json", "parameters": f"{stem}.parameters.json",
                 "tags": f"{stem}.tags.json", "capabilities_file": f"{stem}.capabilities.json", "policy": f"{stem}.policy.json"}
        nested = {path: f"{stem}.{path.replace('/', '.')}.policy.json" for path in documents if path}
        files[top] = bodies[top]
        files[names["configuration"]] = text({"Parameters": params, "StackPolicy": documents[""], "Tags": tags})
        files[names["parameters"]] = text([f"{k}={v}" for k, v in sorted(params.items())])
        files[names["tags"]] = text([f"{k}={v}" for k, v in sorted(tags.items())])
        files[names["capabilities_file"]] = text(capabilities)
        files[names["policy"]] = text(documents[""])
        files.update({file: text(documents[path]) for path, file in nested.items()})
        entries.append({"name": compiled.stack_name(top, stack), "wave": 1 if top == compiled.root else 2, "capabilities": capabilities,
                        "template_url": top_urls[top], "parameter_values": params, "nested_policies": nested, **names})
    waves = [[e["name"] for e in entries if e["wave"] == n] for n in (1, 2)]
    files[MANIFEST] = text({"format": FORMAT, "root_stack": stack, **where, "waves": [w for w in waves if w], "stacks": entries})
    return files
