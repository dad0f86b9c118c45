"""What changes between two sets of compiled templates, decided offline: pure, no AWS, no files.

Per template (the root, each service group, and each nested stack matched by the logical id of its
AWS::CloudFormation::Stack in the parent, whatever its content-addressed file is called): resources added,
modified and removed, property by property; whether a modified resource is replaced, from its type's
create-only properties (ReplaceRules: the resource provider schemas cfn-lint ships, read by ship/schemas.py);
what a stateful resource loses when it is replaced or removed, and what its DeletionPolicy or
UpdateReplacePolicy keeps. A value CloudFormation computes (Fn::GetAtt, Ref of a resource, a deploy-time
parameter) "may change"; a create-only property that may change makes a conditional replacement.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, Protocol

from stack_cfn.errors import ConfigError
from stack_cfn.model.template_values import Context, is_intrinsic, is_literal, normal, references

Replacement = Literal["never", "conditional", "always"]
Action = Literal["add", "modify", "remove"]
RANK: Mapping[Replacement, int] = MappingProxyType({"never": 0, "conditional": 1, "always": 2})
NESTED_STACK = "AWS::CloudFormation::Stack"

# What a resource of each type takes with it when CloudFormation deletes it (on removal, or the old one after a
# replacement): the one list of stateful types. Sources: each type's page of the AWS resource and property types
# reference; a replaced EIP is a new address (AWS::EC2::EIP: "Update requires: Replacement" gives a new public IP),
# a replaced secret a new value (AWS::SecretsManager::Secret GenerateSecretString), a deleted KMS key makes what it
# encrypted unreadable once its deletion window ends (KMS: "Deleting AWS KMS keys").
STATEFUL: Mapping[str, str] = MappingProxyType({
    "AWS::RDS::DBInstance": "the database's data",
    "AWS::RDS::DBCluster": "the database cluster's data",
    "AWS::DocDB::DBCluster": "the database cluster's data",
    "AWS::Neptune::DBCluster": "the graph database's data",
    "AWS::Redshift::Cluster": "the warehouse's data",
    "AWS::DynamoDB::Table": "the table's items",
    "AWS::DynamoDB::GlobalTable": "the table's items",
    "AWS::ElastiCache::ReplicationGroup": "the cache's data",
    "AWS::ElastiCache::CacheCluster": "the cache's data",
    "AWS::OpenSearchService::Domain": "the search domain's indices",
    "AWS::S3::Bucket": "the bucket's objects",
    "AWS::EFS::FileSystem": "the file system's files",
    "AWS::EC2::Volume": "the volume's data",
    "AWS::EC2::EIP": "the public IP address",
    "AWS::Logs::LogGroup": "the log group's logs",
    "AWS::SecretsManager::Secret": "the secret's value",
    "AWS::KMS::Key": "the key, and with it whatever it encrypted",
    "AWS::SQS::Queue": "the queue's messages",
    "AWS::Kinesis::Stream": "the stream's records",
    "AWS::ECR::Repository": "the repository's images",
    "AWS::Cognito::UserPool": "the user pool's users",
    "AWS::Backup::BackupVault": "the vault's recovery points",
})

# DeletionPolicy when the template gives none: Delete, except Snapshot for AWS::RDS::DBCluster and for an
# AWS::RDS::DBInstance without DBClusterIdentifier (CloudFormation User Guide, "DeletionPolicy attribute", Note).
# UpdateReplacePolicy when none is given: Delete ("UpdateReplacePolicy attribute": "By default, CloudFormation then
# deletes the old resource").
KEPT: Mapping[str, str] = MappingProxyType({"Retain": "retained", "RetainExceptOnCreate": "retained", "Snapshot": "snapshot taken"})
ATTRIBUTES = ("DeletionPolicy", "UpdateReplacePolicy", "DependsOn", "Condition", "CreationPolicy", "UpdatePolicy", "Metadata")


@dataclass(frozen=True)
class CreateOnly:
    """A resource type's create-only properties, as JSON pointers (/properties/Name): changing one replaces the
    resource; changing a conditional one replaces it in some cases (the schema's conditionalCreateOnlyProperties)."""

    always: tuple[str, ...] = ()
    conditional: tuple[str, ...] = ()


class ReplaceRules(Protocol):
    def create_only(self, resource_type: str) -> CreateOnly: ...


@dataclass(frozen=True)
class Tree:
    """A template and, by the logical id of each AWS::CloudFormation::Stack in it, its nested stacks' trees."""

    file: str
    template: Mapping[str, Any]
    nested: Mapping[str, Tree] = field(default_factory=dict)


@dataclass(frozen=True)
class PropertyChange:
    path: str  # Properties.Tags[1].Value, or an attribute: DeletionPolicy
    old: Any  # None: absent
    new: Any
    certain: bool  # False: a value only CloudFormation knows; it may or may not change
    replacement: Replacement
    why: str = ""


@dataclass(frozen=True)
class ResourceChange:
    logical_id: str
    action: Action
    resource_type: str
    replacement: Replacement = "never"
    properties: tuple[PropertyChange, ...] = ()
    loss: str = ""  # what a stateful resource loses: "the database's data"
    mitigation: str = ""  # "retained", "snapshot taken"
    note: str = ""


@dataclass(frozen=True)
class TemplateChange:
    path: str  # stack.json, or stack.json > MainDatabase for a nested stack
    old_file: str | None
    new_file: str | None
    resources: tuple[ResourceChange, ...]


@dataclass(frozen=True)
class Changes:
    templates: tuple[TemplateChange, ...]
    compared: int  # templates compared, changed or not

    @property
    def changed(self) -> bool:
        return bool(self.templates)

    @property
    def losses(self) -> tuple[tuple[str, ResourceChange], ...]:
        """Stateful resources replaced (or maybe replaced) or removed, with the template that holds them."""
        return tuple((t.path, r) for t in self.templates for r in t.resources if r.loss)

    def as_dict(self) -> dict[str, Any]:
        return {
            "changed": self.changed, "templates_compared": self.compared,
            "data_loss": [{"template": path, "logical_id": r.logical_id, "type": r.resource_type, "action": r.action,
                           "replacement": r.replacement, "loss": r.loss, "mitigation": r.mitigation} for path, r in self.losses],
            "templates": [{"template": t.path, "old_file": t.old_file, "new_file": t.new_file,
                           "resources": [_resource_dict(r) for r in t.resources]} for t in self.templates],
        }


def _resource_dict(r: ResourceChange) -> dict[str, Any]:
    return {"logical_id": r.logical_id, "action": r.action, "type": r.resource_type, "replacement": r.replacement,
            "loss": r.loss, "mitigation": r.mitigation, "note": r.note,
            "properties": [{"path": p.path, "old": p.old, "new": p.new, "certain": p.certain, "replacement": p.replacement, "why": p.why}
                           for p in r.properties]}


# ---------------------------------------------------------------- the trees of a build


def trees_from_files(files: Mapping[str, Mapping[str, Any]], where: str = "the build") -> dict[str, Tree]:
    """The top-level templates of a build (those no other template nests), each with its nested stacks;
    a nested stack's TemplateURL is the file name (stack-cfn build) or a URL ending in it (uploaded)."""
    nested_names = {_file_of(url) for t in files.values() for _, url in _nested_urls(t)}
    return {name: _tree(name, files, where, 0) for name in sorted(files) if name not in nested_names}


def _nested_urls(template: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    for logical_id, resource in sorted((template.get("Resources") or {}).items()):
        url = (resource.get("Properties") or {}).get("TemplateURL") if isinstance(resource, dict) else None
        if resource.get("Type") == NESTED_STACK and isinstance(url, str):
            yield logical_id, url


def _file_of(url: str) -> str:
    return url.rsplit("/", 1)[-1]


def _tree(name: str, files: Mapping[str, Mapping[str, Any]], where: str, depth: int) -> Tree:
    if depth > 10:
        raise ConfigError(name, f"nests templates more than 10 deep in {where}", "give the directory stack-cfn build wrote")
    nested = {}
    for logical_id, url in _nested_urls(files[name]):
        if _file_of(url) not in files:
            raise ConfigError(f"{where}: {name}", f"nests {_file_of(url)} ({logical_id}), which is not there",
                              "give the whole directory stack-cfn build wrote")
        nested[logical_id] = _tree(_file_of(url), files, where, depth + 1)
    return Tree(name, files[name], nested)


# ---------------------------------------------------------------- comparing


def compare(old: Mapping[str, Tree], new: Mapping[str, Tree], rules: ReplaceRules,
            old_parameters: Mapping[str, Mapping[str, Any]] | None = None,
            new_parameters: Mapping[str, Mapping[str, Any]] | None = None) -> Changes:
    """Every template of `new` against its predecessor in `old` (top-level ones by name, nested ones by logical id);
    `*_parameters`: the top-level stacks' parameter values, when known (a deployed stack's, a deploy's)."""
    found: list[TemplateChange] = []
    compared = 0
    for name in sorted(set(old) | set(new)):
        compared += _walk(name, old.get(name), new.get(name), (old_parameters or {}).get(name, {}), (new_parameters or {}).get(name, {}),
                          rules, found, "")
    return Changes(tuple(found), compared)


def _walk(path: str, old: Tree | None, new: Tree | None, old_given: Mapping[str, Any], new_given: Mapping[str, Any],
          rules: ReplaceRules, found: list[TemplateChange], kept: str) -> int:
    """Compare one template pair, then its nested stacks; the number of pairs compared."""
    old_res = _resources(old, old_given)
    new_res = _resources(new, new_given)
    changes = template_changes(old_res, new_res, rules, kept)
    if changes:
        found.append(TemplateChange(path, old.file if old else None, new.file if new else None, changes))
    compared = 1
    for logical_id in sorted(k for k, r in {**old_res, **new_res}.items() if r["Type"] == NESTED_STACK):
        before, after = old_res.get(logical_id), new_res.get(logical_id)
        child_kept = kept or (KEPT.get(str(before.get("DeletionPolicy")), "") if before and after is None else "")
        compared += _walk(f"{path} > {logical_id}",
                          old.nested.get(logical_id) if old and before else None, new.nested.get(logical_id) if new and after else None,
                          _parameters(before), _parameters(after), rules, found, child_kept)
    return compared


def _parameters(resource: Mapping[str, Any] | None) -> Mapping[str, Any]:
    params = (resource or {}).get("Properties", {}).get("Parameters", {})
    return params if isinstance(params, dict) else {}


def _resources(tree: Tree | None, given: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Each resource the template makes, its values resolved as far as they are known offline; a resource whose
    Condition is known to be false is not made."""
    if tree is None:
        return {}
    context = Context.of(tree.template, given)
    made = {}
    for logical_id, resource in (tree.template.get("Resources") or {}).items():
        if not isinstance(resource, dict) or context.condition(resource.get("Condition")) is False:
            continue
        made[logical_id] = {key: (value if key == "Type" else context.resolve(value)) for key, value in resource.items()}
        made[logical_id].setdefault("Properties", {})
        url = made[logical_id]["Properties"].get("TemplateURL") if resource.get("Type") == NESTED_STACK else None
        if isinstance(url, str):  # a nested template is named by its file: where it was uploaded (plan) is not a change
            made[logical_id]["Properties"]["TemplateURL"] = _file_of(url)
    return made


def template_changes(old: Mapping[str, dict[str, Any]], new: Mapping[str, dict[str, Any]], rules: ReplaceRules,
                     kept: str = "") -> tuple[ResourceChange, ...]:
    """The resource changes of one template, in logical-id order."""
    changes: dict[str, ResourceChange] = {}
    for logical_id in sorted(set(old) | set(new)):
        before, after = old.get(logical_id), new.get(logical_id)
        if before is None and after is not None:
            changes[logical_id] = ResourceChange(logical_id, "add", after["Type"])
        elif after is None and before is not None:
            changes[logical_id] = removal(logical_id, before, kept)
        elif before is not None and after is not None:
            modified = modification(logical_id, before, after, rules)
            if modified.properties:
                changes[logical_id] = modified
    _cascade(changes, old, new, rules)
    return _renames(tuple(changes[k] for k in sorted(changes)))


def removal(logical_id: str, resource: Mapping[str, Any], kept: str = "") -> ResourceChange:
    kind = resource["Type"]
    loss = STATEFUL.get(kind, "")
    return ResourceChange(logical_id, "remove", kind, loss=loss, mitigation=(kept or KEPT.get(deletion_policy(resource), "")) if loss else "")


def deletion_policy(resource: Mapping[str, Any]) -> str:
    """The DeletionPolicy in force (see KEPT's source for the defaults)."""
    given = resource.get("DeletionPolicy")
    if isinstance(given, str):
        return given
    kind = resource["Type"]
    clustered = "DBClusterIdentifier" in (resource.get("Properties") or {})
    return "Snapshot" if kind == "AWS::RDS::DBCluster" or (kind == "AWS::RDS::DBInstance" and not clustered) else "Delete"


def modification(logical_id: str, old: Mapping[str, Any], new: Mapping[str, Any], rules: ReplaceRules) -> ResourceChange:
    """A resource present on both sides: what differs and whether CloudFormation replaces it."""
    kind = new["Type"]
    if old["Type"] != kind:
        props: list[PropertyChange] = [PropertyChange("Type", old["Type"], kind, True, "always", "a resource's type cannot change")]
    else:
        create_only = rules.create_only(kind)
        props = [judged(path, before, after, create_only) for path, before, after in differences(old["Properties"], new["Properties"], ("Properties",))]
    props += [PropertyChange(a, old.get(a), new.get(a), is_literal(old.get(a)) and is_literal(new.get(a)), "never")
              for a in ATTRIBUTES if normal(old.get(a)) != normal(new.get(a))]
    return _with_loss(ResourceChange(logical_id, "modify", kind, _worst(props), tuple(props)), new)


def _with_loss(change: ResourceChange, new: Mapping[str, Any]) -> ResourceChange:
    """A replaced stateful resource loses what the old one held, unless its UpdateReplacePolicy keeps it."""
    loss = STATEFUL.get(change.resource_type, "") if change.replacement != "never" else ""
    kept = KEPT.get(str(new.get("UpdateReplacePolicy", "Delete")), "") if loss else ""
    return ResourceChange(change.logical_id, change.action, change.resource_type, change.replacement, change.properties, loss, kept, change.note)


def _worst(props: list[PropertyChange]) -> Replacement:
    return max((p.replacement for p in props), key=RANK.__getitem__, default="never")


def differences(old: Any, new: Any, path: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], Any, Any]]:
    """The leaves where two values differ (mappings by key, lists by position); a function call is a leaf."""
    if normal(old) == normal(new):
        return
    if isinstance(old, dict) and isinstance(new, dict) and not is_intrinsic(old) and not is_intrinsic(new):
        for key in sorted(set(old) | set(new)):
            yield from differences(old.get(key), new.get(key), (*path, key))
    elif isinstance(old, list) and isinstance(new, list):
        for index in range(max(len(old), len(new))):
            yield from differences(old[index] if index < len(old) else None, new[index] if index < len(new) else None, (*path, index))
    else:
        yield path, old, new


def path_text(path: tuple[str | int, ...]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else p) for i, p in enumerate(path))


def judged(path: tuple[str | int, ...], old: Any, new: Any, create_only: CreateOnly) -> PropertyChange:
    """One property difference: certain when both values are known offline; replacing when it is create-only."""
    certain = is_literal(old) and is_literal(new)
    pointer = ["properties", *(str(p) for p in path[1:])]
    if any(_overlaps(pointer, p) for p in create_only.always):
        return PropertyChange(path_text(path), old, new, certain, "always" if certain else "conditional",
                              "create-only" if certain else "create-only; the value may change")
    if any(_overlaps(pointer, p) for p in create_only.conditional):
        return PropertyChange(path_text(path), old, new, certain, "conditional", "replaces the resource on some changes")
    return PropertyChange(path_text(path), old, new, certain, "never")


def _overlaps(pointer: list[str], schema_pointer: str) -> bool:
    """A changed path lies under a create-only property, or holds one ("*" in the schema's pointer is any item)."""
    wanted = schema_pointer.strip("/").split("/")
    return all(w in ("*", p) for w, p in zip(wanted, pointer, strict=False))


def _cascade(changes: dict[str, ResourceChange], old: Mapping[str, dict[str, Any]], new: Mapping[str, dict[str, Any]],
             rules: ReplaceRules) -> None:
    """A resource replaced gets a new physical id and attributes: a property that reads it (Ref, Fn::GetAtt) may change,
    and when that property is create-only, the reader may be replaced too; repeated until nothing more is replaced."""
    replaced = {k for k, c in changes.items() if c.action == "modify" and c.replacement != "never"}
    grew = True
    while grew:
        grew = False
        for logical_id in sorted(set(old) & set(new)):
            before = changes.get(logical_id, ResourceChange(logical_id, "modify", new[logical_id]["Type"]))
            after = _read_replaced(before, new[logical_id], replaced - {logical_id}, rules)
            if after is not before:
                changes[logical_id] = after
                if after.replacement != "never" and logical_id not in replaced:
                    replaced.add(logical_id)
                    grew = True


def _read_replaced(change: ResourceChange, resource: Mapping[str, Any], replaced: set[str], rules: ReplaceRules) -> ResourceChange:
    if change.action != "modify" or resource["Type"] == NESTED_STACK or not replaced:
        return change
    create_only = rules.create_only(resource["Type"])
    known = {p.path.split("[", 1)[0].split(".")[1] for p in change.properties if p.path.startswith("Properties.")}
    added = []
    for name, value in sorted(resource["Properties"].items()):
        readers = sorted(set(references(value)) & replaced)
        if readers and name not in known:
            pointer = ["properties", name]
            create = any(_overlaps(pointer, p) for p in (*create_only.always, *create_only.conditional))
            added.append(PropertyChange(f"Properties.{name}", value, value, False, "conditional" if create else "never",
                                        f"reads {', '.join(readers)}, which is replaced"))
    if not added:
        return change
    props = [*change.properties, *added]
    return _with_loss(ResourceChange(change.logical_id, "modify", change.resource_type, _worst(props), tuple(props), note=change.note), resource)


def _renames(changes: tuple[ResourceChange, ...]) -> tuple[ResourceChange, ...]:
    """One resource of a type removed and one of that type added: likely a renamed logical id, which CloudFormation
    carries out as a removal and a creation (the old one is deleted, with what it holds)."""
    by_type: dict[tuple[str, str], list[ResourceChange]] = {}
    for c in changes:
        if c.action in ("add", "remove"):
            by_type.setdefault((c.action, c.resource_type), []).append(c)
    notes = {}
    for (action, kind), gone in by_type.items():
        came = by_type.get(("add", kind), [])
        if action == "remove" and len(gone) == 1 and len(came) == 1:
            notes[gone[0].logical_id] = f"renamed to {came[0].logical_id}? a changed logical id deletes this one and creates that one"
            notes[came[0].logical_id] = f"renamed from {gone[0].logical_id}? a changed logical id deletes that one and creates this one"
    return tuple(ResourceChange(c.logical_id, c.action, c.resource_type, c.replacement, c.properties, c.loss, c.mitigation,
                                notes.get(c.logical_id, c.note)) for c in changes)
