"""The create-only properties of each resource type, read from the resource provider schemas cfn-lint ships
(cfnlint/data/schemas/providers/<region>.json and the schemas they point at): offline, no AWS credentials.

Source of the rule: the CloudFormation CLI's resource type schema ("createOnlyProperties: a list of JSON pointers
to properties that can only be set when the resource is created; an update to any of them replaces the
resource"); cfn-lint adds "conditionalCreateOnlyProperties" (a change replaces the resource in some cases).
"""

from __future__ import annotations

import functools

from stack_cfn.model.changes import CreateOnly


class SchemaRules:
    """ReplaceRules (model/changes.py) from cfn-lint's schemas of one region; a type cfn-lint does not know
    (a custom resource) has no create-only property."""

    def __init__(self, region: str = "us-east-1") -> None:
        self.region = region

    @functools.cache  # noqa: B019  one instance per run; the schemas do not change while it runs
    def create_only(self, resource_type: str) -> CreateOnly:
        from cfnlint.schema import PROVIDER_SCHEMA_MANAGER, ResourceNotFoundError  # imported late: cfn-lint's import is slow

        try:
            schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(self.region, resource_type).schema
        except ResourceNotFoundError:
            return CreateOnly()
        return CreateOnly(tuple(schema.get("createOnlyProperties") or ()), tuple(schema.get("conditionalCreateOnlyProperties") or ()))
