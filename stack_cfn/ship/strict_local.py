"""The local AWS refuses what AWS refuses where moto 5.2.5 does not (each rule has its AWS source, and a probe in
tests/test_local_aws.py showing plain moto lacks it, so that the shim can go when moto learns the rule).

- Capabilities: CreateStack, CreateChangeSet, UpdateStack, CreateStackSet and UpdateStackSet answer
  InsufficientCapabilitiesException ("Requires capabilities : [CAPABILITY_NAMED_IAM]") for a template tree that
  needs more than the request acknowledges, the deployed template with UsePreviousTemplate (CreateChangeSet API reference, Capabilities; rule in
  ship/capabilities.py). moto never checks.
- Change sets: a change set name already used on the stack answers AlreadyExistsException unless the request
  repeats the same ClientToken (then it is the same request: the same change set is answered); a CREATE change
  set for a stack in REVIEW_IN_PROGRESS joins that stack instead of making a second stack of the same name, and
  for a stack that exists answers ValidationError; executing a change set that is no longer AVAILABLE answers
  InvalidChangeSetStatus, and one being executed is EXECUTE_IN_PROGRESS (DescribeChangeSet API reference,
  ExecutionStatus: "EXECUTE_IN_PROGRESS" while CloudFormation updates the stack; moto keeps it AVAILABLE while it works inside
  the request, so a retried ExecuteChangeSet whose answer was late would run the whole operation twice); deleting one that is gone answers ChangeSetNotFound (CreateChangeSet / ExecuteChangeSet /
  DeleteChangeSet API references). moto makes a second stack shell, executes a change set twice, and answers a
  500 for a change set that is gone.
- Exports leave with their stack: DeleteStack of a stack (nested stacks included) removes its exports
  (ListExports: exports of existing stacks). moto keeps those of stacks it made from change sets or nested stacks.
- ListImports (the stacks importing an export; ValidationError "... is not imported by any stack" for none:
  ListImports API reference): moto 5.2.5 has not implemented it (an HTML 500). Here it reads each live stack's
  Fn::ImportValue arguments, resolved as moto resolves them.
- A fixed-name collision (a log group or other named resource that already exists, e.g. retained by an earlier
  stack) fails the resource, and the stack rolls back, as in AWS ("<name> already exists"); moto lets the
  service's JSON error escape from the CloudFormation API as an answer botocore cannot parse.
- Exports in use: an update that changes or removes an export another stack imports fails and rolls back ("Cannot
  update export ... as it is in use by ..."; CloudFormation User Guide, Exporting stack output values); moto changes it.
  ListImports (and this rule) count an import as AWS does: in the branch of each Fn::If the stack's conditions take.
- Tags and parameters: executing an UPDATE change set gives the stack the change set's Tags (CreateChangeSet API
  reference, Tags: "Key-value pairs to associate with this stack") and parameters; moto keeps the old tags, so a
  deploy's fingerprint tag (ship/deploy.py) would name an older deploy, and compares the next change set with the
  parameters the stack was created with, so going back to them (a two-phase deploy's last phase) "didn't contain changes".
- And one place where moto refuses what AWS accepts: moto updates a nested stack by deleting it and creating it
  anew, so its retained log groups collide with themselves on every update. AWS updates a nested stack in place
  (AWS::CloudFormation::Stack reference: an update of TemplateURL or Parameters is "No interruption"): the new
  incarnation takes over the log groups of the one it replaces, by logical id, instead of colliding.
"""

from __future__ import annotations

import contextlib
import json
import threading
from typing import Any

STATE: dict[str, Any] = {"installed": False, "tokens": {}}
LOCK = threading.RLock()


def _error(code: str, message: str) -> Exception:
    from moto.cloudformation.exceptions import CloudFormationError

    error = type(code, (CloudFormationError,), {"code": code})(message)
    return error


def install() -> None:
    if STATE["installed"]:
        return
    STATE["installed"] = True
    _capabilities()
    _change_sets()
    _exports_leave_with_stacks()
    _list_imports()
    _collisions_fail_the_stack()
    _nested_updates_keep_log_groups()
    _exports_in_use_stay()
    _change_sets_update_the_stack()


# ---------------------------------------------------------------- capabilities


def _tree(response: Any, body: str | None, url: str | None, seen: int = 0) -> list[str]:
    """The template and every nested template it reaches through TemplateURLs in the local S3."""
    if url and not body:
        body = response._get_stack_from_s3_url(url)
    if not body or seen > 50:
        return []
    try:
        template = json.loads(body)
    except ValueError:
        return [body]  # YAML: moto's own parser handles it; its nested stacks are not walked
    bodies = [body]
    for resource in (template.get("Resources") or {}).values():
        child = (resource.get("Properties") or {}).get("TemplateURL") if resource.get("Type") == "AWS::CloudFormation::Stack" else None
        if isinstance(child, str) and child.startswith("http"):
            try:
                bodies += _tree(response, None, child, seen + 1)
            except Exception:  # noqa: BLE001 - a URL moto cannot read fails later, as moto fails it
                continue
    return bodies


def _check_capabilities(response: Any) -> None:
    from moto.cloudformation.exceptions import ValidationError

    from stack_cfn.ship.capabilities import missing, required_capabilities

    body = response._get_param("TemplateBody")
    if response._get_bool_param("UsePreviousTemplate", False):  # the deployed template needs its capabilities as much
        with contextlib.suppress(ValidationError):  # no such stack: moto's own answer follows
            body = response.cloudformation_backend.get_stack(response._get_params().get("StackName")).template
    bodies = [b for b in _tree(response, body, response._get_param("TemplateURL")) if b.lstrip().startswith("{")]
    lacking = missing(required_capabilities(bodies), response._get_param("Capabilities", []) or [])
    lacking = [c for c in lacking if c != "CAPABILITY_AUTO_EXPAND" or _has_transform(bodies)]
    if lacking:
        raise _error("InsufficientCapabilitiesException", f"Requires capabilities : [{', '.join(lacking)}]")


def _has_transform(bodies: list[str]) -> bool:
    return any(json.loads(b).get("Transform") for b in bodies)


def _capabilities() -> None:
    from moto.cloudformation.responses import CloudFormationResponse

    for action in ("create_stack", "create_change_set", "update_stack", "create_stack_set", "update_stack_set"):
        original = getattr(CloudFormationResponse, action)

        def checked(self: Any, original: Any = original) -> Any:
            _check_capabilities(self)
            return original(self)

        setattr(CloudFormationResponse, action, checked)


# ---------------------------------------------------------------- change sets


def _find_change_set(backend: Any, stack_name: str, name: str) -> Any:
    return next((c for c in backend.change_sets.values() if c.change_set_name == name and stack_name in (c.stack_name, c.stack_id)), None)


def _change_set_of(backend: Any, change_set_name: str, stack_name: str | None) -> Any:
    """The change set ExecuteChangeSet names: by its ARN, or by its name on the stack (None when neither finds it)."""
    return backend.change_sets.get(change_set_name) or _find_change_set(backend, stack_name or "", change_set_name)


def _change_sets() -> None:
    from moto.cloudformation.responses import CloudFormationResponse
    from moto.core.responses import ActionResult

    original_response = CloudFormationResponse.create_change_set

    def create_change_set(self: Any) -> Any:
        with LOCK:  # AWS makes one stack of a name however many requests race; moto's server threads would make several
            return _create_change_set(self)

    def _create_change_set(self: Any) -> Any:
        params = self._get_params()
        stack_name, name, token = params.get("StackName"), params.get("ChangeSetName"), params.get("ClientToken")
        backend = self.cloudformation_backend
        existing = _find_change_set(backend, stack_name, name)
        if existing is not None:
            if token and STATE["tokens"].get(existing.change_set_id) == token:
                return ActionResult({"Id": existing.change_set_id, "StackId": existing.stack_id})
            raise _error("AlreadyExistsException", f"ChangeSet [{name}] already exists")
        if self._get_param("ChangeSetType", "CREATE") == "CREATE":
            live = [st for st in backend.stacks.values() if st.name == stack_name and st.status != "REVIEW_IN_PROGRESS"]
            if live:
                raise _error("ValidationError", f"Stack [{stack_name}] already exists and cannot be created again with the changeSet [{name}].")
        result = original_response(self)
        change_set = _find_change_set(backend, stack_name, name)
        if change_set is not None and token:
            STATE["tokens"][change_set.change_set_id] = token
        return result

    CloudFormationResponse.create_change_set = create_change_set  # type: ignore[method-assign]  # moto's class, patched at run time (the docstring says which gap)
    _change_sets_in_the_backend()


def _change_sets_in_the_backend() -> None:
    from moto.cloudformation.models import CloudFormationBackend

    original_create = CloudFormationBackend.create_change_set

    def backend_create(self: Any, stack_name: str, change_set_name: str, *args: Any, **kwargs: Any) -> Any:
        shells = [st for st in self.stacks.values() if st.name == stack_name and st.status == "REVIEW_IN_PROGRESS"]
        change_set_id, stack_id = original_create(self, stack_name, change_set_name, *args, **kwargs)
        if shells and stack_id != shells[0].stack_id:  # join the shell, as AWS does, instead of a second stack
            self.stacks.pop(stack_id, None)
            change_set = self.change_sets[change_set_id]
            change_set.stack, change_set.stack_id = shells[0], shells[0].stack_id
            stack_id = shells[0].stack_id
        return change_set_id, stack_id

    CloudFormationBackend.create_change_set = backend_create  # type: ignore[method-assign]  # moto's class, patched at run time (the docstring says which gap)
    original_execute = CloudFormationBackend.execute_change_set

    def execute(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
        change_set = _change_set_of(self, change_set_name, stack_name)
        if change_set is not None and change_set.execution_status != "AVAILABLE":
            raise _error("InvalidChangeSetStatus",
                         f"ChangeSet [{change_set.change_set_id}] cannot be executed in its current execution status of [{change_set.execution_status}]")
        if change_set is not None:  # moto works inside the request; AWS answers at once, the change set executing
            change_set.execution_status = "EXECUTE_IN_PROGRESS"
        try:
            original_execute(self, change_set_name, stack_name)
        except Exception:
            if change_set is not None:
                change_set.execution_status = "EXECUTE_FAILED"
            raise

    CloudFormationBackend.execute_change_set = execute  # type: ignore[method-assign]  # moto's class, patched at run time (the docstring says which gap)
    original_delete = CloudFormationBackend.delete_change_set

    def delete(self: Any, change_set_name: str) -> None:
        if change_set_name not in self.change_sets and not any(c.change_set_name == change_set_name for c in self.change_sets.values()):
            raise _error("ChangeSetNotFound", f"ChangeSet [{change_set_name}] does not exist")  # moto: UnboundLocalError, HTTP 500
        original_delete(self, change_set_name)

    CloudFormationBackend.delete_change_set = delete  # type: ignore[method-assign]  # moto's class, patched at run time (the docstring says which gap)


# ---------------------------------------------------------------- exports


def _exports_leave_with_stacks() -> None:
    from moto.cloudformation.models import CloudFormationBackend

    original = CloudFormationBackend.delete_stack

    def delete_stack(self: Any, name_or_stack_id: str) -> None:
        STATE["deleting"] = STATE.get("deleting", 0) + 1  # moto's delete_stack calls itself (by name, then by id)
        try:
            original(self, name_or_stack_id)
        finally:
            STATE["deleting"] -= 1
        if STATE["deleting"] == 0:
            for name, export in list(self.exports.items()):
                if export.exporting_stack_id not in self.stacks:
                    del self.exports[name]

    CloudFormationBackend.delete_stack = delete_stack  # type: ignore[method-assign]  # moto's class, patched at run time (the docstring says which gap)


def _imported(stack: Any) -> set[str]:
    """The exports a stack imports, as AWS counts them: in the resources it makes and its outputs, the branch of each
    Fn::If its conditions take (a service whose wiring parameter is set, so its condition takes the parameter, imports nothing)."""
    from moto.cloudformation.parsing import clean_json

    found: set[str] = set()
    conditions = getattr(stack.resource_map, "lazy_condition_map", {})

    def holds(name: Any) -> bool:
        try:
            return bool(conditions[name])
        except Exception:  # noqa: BLE001  # a condition moto cannot decide: count both branches, as before
            return True

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "Fn::ImportValue" in node:
                try:
                    found.add(str(clean_json(node["Fn::ImportValue"], stack.resource_map)))
                except Exception:  # noqa: BLE001  # an argument moto cannot resolve names no export of ours
                    pass
            branches = node.get("Fn::If")
            if isinstance(branches, list) and len(branches) == 3 and isinstance(branches[0], str) and branches[0] in conditions:
                walk(branches[1] if holds(branches[0]) else branches[2])
                return
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    template = getattr(stack, "template_dict", {}) or {}
    for resource in (template.get("Resources") or {}).values():
        if not isinstance(resource, dict) or not resource.get("Condition") or holds(resource["Condition"]):
            walk(resource)
    walk(template.get("Outputs") or {})
    return found


def _list_imports() -> None:
    from moto.cloudformation.responses import CloudFormationResponse
    from moto.core.responses import ActionResult

    def list_imports(self: Any) -> Any:
        name = self._get_param("ExportName")
        backend = self.cloudformation_backend
        importing = sorted({s.name for s in backend.stacks.values() if s.status != "DELETE_COMPLETE" and name in _imported(s)})
        if not importing:
            raise _error("ValidationError", f"Export '{name}' is not imported by any stack.")
        return ActionResult({"Imports": importing})

    CloudFormationResponse.list_imports = list_imports  # type: ignore[attr-defined]  # moto's class, patched at run time (the docstring says which gap)


# ---------------------------------------------------------------- fixed-name collisions


def _already_exists(exc: Exception) -> bool:
    text = f"{getattr(exc, 'code', '')} {getattr(exc, 'message', '')} {exc}"
    return "AlreadyExists" in text or "already exists" in text


def _fail(stack: Any, exc: Exception, kind: str) -> None:
    reason = " ".join(str(getattr(exc, "message", "") or exc).split())
    stack._add_stack_event(f"{kind}_FAILED", resource_status_reason=f"Resource handler returned message: \"{reason}\" (HandlerErrorCode: AlreadyExists)")
    stack.status = "ROLLBACK_COMPLETE" if kind == "CREATE" else "UPDATE_ROLLBACK_COMPLETE"
    stack._add_stack_event(stack.status)
    if kind == "CREATE":
        _settled(stack)


def _settled(stack: Any) -> None:
    """A stack whose create failed has no resources and no outputs (AWS rolls it back); moto would otherwise create
    its resources lazily, and collide again, whenever it is described."""
    stack.resource_map._resource_json_map = {k: v for k, v in stack.resource_map._resource_json_map.items() if k in stack.resource_map._parsed_resources}
    stack.output_map._output_json_map = {}


def _collisions_fail_the_stack() -> None:
    from moto.cloudformation.models import CloudFormationBackend

    execute = CloudFormationBackend.execute_change_set

    def execute_change_set(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
        try:
            execute(self, change_set_name, stack_name)
        except Exception as exc:
            change_set = _change_set_of(self, change_set_name, stack_name)
            if change_set is None or not _already_exists(exc) or exc.__class__.__name__ in ("InvalidChangeSetStatus", "AlreadyExistsException"):
                raise
            change_set.execution_status = "EXECUTE_FAILED"
            _fail(self.stacks[change_set.stack_id], exc, change_set.change_set_type)

    CloudFormationBackend.execute_change_set = execute_change_set  # type: ignore[method-assign]  # moto's class, patched at run time (the docstring says which gap)
    create_stack = CloudFormationBackend.create_stack

    def create_stack_failing(self: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return create_stack(self, name, *args, **kwargs)
        except Exception as exc:
            if _already_exists(exc):  # a nested stack that collided: failed and settled; its parent fails too
                for stack in [s for s in self.stacks.values() if s.name == name and s.status in ("CREATE_PENDING", "CREATE_IN_PROGRESS")]:
                    stack.status = "CREATE_FAILED"
                    _settled(stack)
            raise

    CloudFormationBackend.create_stack = create_stack_failing  # type: ignore[method-assign]  # moto's class, patched at run time (the docstring says which gap)


# ---------------------------------------------------------------- nested stack updates


def _nested_updates_keep_log_groups() -> None:
    from moto.cloudformation.models import Stack
    from moto.logs.models import LogGroup, logs_backends

    replace = Stack.update_from_cloudformation_json.__func__  # type: ignore[attr-defined]  # a classmethod's function, to wrap it

    def update(cls: type, original_resource: Any, *args: Any, **kwargs: Any) -> Any:
        parsed = getattr(original_resource.resource_map, "_parsed_resources", {})
        STATE["adopt"] = {(logical, r.name) for logical, r in parsed.items() if isinstance(r, LogGroup)}
        try:
            return replace(cls, original_resource, *args, **kwargs)
        finally:
            STATE["adopt"] = set()

    Stack.update_from_cloudformation_json = classmethod(update)  # type: ignore[assignment]  # moto's class, patched at run time (the docstring says which gap)
    create = LogGroup.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]  # a classmethod's function, to wrap it

    def create_log_group(cls: type, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any) -> Any:
        name = (cloudformation_json.get("Properties") or {}).get("LogGroupName") or resource_name
        groups = logs_backends[account_id][region_name].groups
        if (kwargs.get("LogicalId"), name) in STATE.get("adopt", set()) and name in groups:
            return groups[name]
        return create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)

    LogGroup.create_from_cloudformation_json = classmethod(create_log_group)  # type: ignore[assignment]  # moto's class, patched at run time (the docstring says which gap)



# ---------------------------------------------------------------- exports in use


def _stacks_of(stack: Any, seen: int = 0) -> list[Any]:
    """A stack and its nested stacks, as moto holds them."""
    from moto.cloudformation.models import Stack

    parsed = getattr(stack.resource_map, "_parsed_resources", {}) if seen < 10 else {}
    return [stack, *(s for r in parsed.values() if isinstance(r, Stack) for s in _stacks_of(r, seen + 1))]


def _export_values(stacks: list[Any], generated: bool = True) -> dict[str, str]:
    """The exports of the stacks by name; without `generated`, not those whose value is a name moto generated from the
    stack's own name (`<stack>-<LogicalId>-<random>`): moto re-creates a nested stack on every update (see the last
    shim here), so those change in moto where AWS keeps them; only values AWS would change are compared."""
    found: dict[str, str] = {}
    for stack in stacks:
        try:
            found.update({e.name: str(e.value) for e in stack.exports if generated or f"{stack.name}-" not in str(e.value)})
        except Exception:  # noqa: BLE001  # outputs moto cannot resolve export nothing it can compare
            continue
    return found


def _in_use(backend: Any, stack: Any) -> tuple[list[Any], dict[str, str], dict[str, list[str]]]:
    """The stacks of the tree, their exports' values, and who else imports each (before a change set runs)."""
    tree = _stacks_of(stack)
    values = _export_values(tree, generated=False)
    ids = {s.stack_id for s in tree}
    others = [(s.name, _imported(s)) for s in backend.stacks.values() if values and s.stack_id not in ids and s.status != "DELETE_COMPLETE"]
    users = {name: sorted({other for other, imports in others if name in imports}) for name in values}
    return tree, values, {name: names for name, names in users.items() if names}


def _exports_in_use_stay() -> None:
    """AWS refuses to change or remove an export another stack imports: the update fails and rolls back ("Cannot update
    export <name> as it is in use by <stack>"; CloudFormation User Guide, Exporting stack output values: "You can't modify
    or remove an output value that is referenced by another stack"). moto changes it. Here the stack ends
    UPDATE_ROLLBACK_COMPLETE with that reason, its template and the export's value for the importers stay; moto has no
    rollback, so the resources the change set already changed stay changed."""
    from moto.cloudformation.models import CloudFormationBackend

    execute = CloudFormationBackend.execute_change_set

    def execute_change_set(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
        change_set = _change_set_of(self, change_set_name, stack_name)
        if change_set is None or change_set.change_set_type != "UPDATE" or change_set.stack_id not in self.stacks:
            return execute(self, change_set_name, stack_name)
        stack = self.stacks[change_set.stack_id]
        _, before, users = _in_use(self, stack)
        template, exports = stack.template, dict(self.exports)
        execute(self, change_set_name, stack_name)
        after = _export_values(_stacks_of(stack))
        broken = sorted(name for name in users if after.get(name) != before[name])
        if not broken:
            return None
        reason = "; ".join(f"Cannot update export {name} as it is in use by {', '.join(users[name])}" for name in broken)
        stack._add_stack_event("UPDATE_ROLLBACK_IN_PROGRESS", resource_status_reason=reason)
        stack.status, stack.template = "UPDATE_ROLLBACK_COMPLETE", template
        change_set.execution_status = "EXECUTE_FAILED"
        self.exports.update({name: exports[name] for name in broken if name in exports})
        stack._add_stack_event("UPDATE_ROLLBACK_COMPLETE")
        return None

    CloudFormationBackend.execute_change_set = execute_change_set  # type: ignore[method-assign]  # moto's class, patched at run time (the docstring says which gap)


def _change_sets_update_the_stack() -> None:
    from moto.cloudformation.models import CloudFormationBackend

    execute = CloudFormationBackend.execute_change_set

    def execute_change_set(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
        execute(self, change_set_name, stack_name)
        change_set = _change_set_of(self, change_set_name, stack_name)
        if change_set is not None and change_set.stack_id in self.stacks and change_set.execution_status == "EXECUTE_COMPLETE":
            stack = self.stacks[change_set.stack_id]
            stack.parameters = dict(change_set.parameters or {})
            if change_set.tags:
                stack.tags = dict(change_set.tags)

    CloudFormationBackend.execute_change_set = execute_change_set  # type: ignore[method-assign]  # moto's class, patched at run time (the docstring says which gap)
