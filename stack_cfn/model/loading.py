"""Reading a stack file: bounded, strict YAML, then typed model objects.

What is refused here, each with one line naming the field and the fix:
a file that is too large, binary, or not UTF-8; YAML that does not parse, has
a key twice, or whose aliases expand beyond a bound (a "billion laughs");
unknown keys (with a "did you mean"); and values of the wrong type. A YAML
number where a string is expected is refused with the text as written
(`version: 1.10` is the number 1.1, `0755` the number 493), never converted.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import re
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml

from stack_cfn.errors import ConfigError
from stack_cfn.model.alarms import AlarmsConfig
from stack_cfn.model.config import ServiceConfig, StackConfig
from stack_cfn.model.data import DatabaseConfig, IamUserConfig
from stack_cfn.model.deployment import EarlyStop
from stack_cfn.model.fargate import with_default_launch_type
from stack_cfn.model.jobs import JobConfig
from stack_cfn.model.reading import os_problem, read_bounded
from stack_cfn.model.releases import Release, Sources, apply_releases, read_releases
from stack_cfn.model.rules import quote
from stack_cfn.model.variants import Exposure

MAX_FILE_BYTES = 1024 * 1024
MAX_NODES = 100_000  # values after expanding aliases
MAX_DEPTH = 50  # nested lists and mappings: a stack file needs 6; Python's recursion stops near 1000


class _Number:
    """A YAML int or float that remembers how it was written."""

    text: str


class YamlInt(int, _Number):
    pass


class YamlFloat(float, _Number):
    pass


class StrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]  # a base chosen at run time (libyaml's when present)
    """SafeLoader (libyaml's parser where PyYAML has it: 1,000 services parse in a third of the time) that
    refuses duplicate keys and keeps the source text of numbers."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, typing.Hashable) and key in seen:
                raise ConfigError(str(key), f"is given twice (lines {seen[key] + 1} and {key_node.start_mark.line + 1})", "keep one of them")
            seen[key] = key_node.start_mark.line
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return mapping


def _number(kind: type, base: Any) -> Any:
    def construct(loader: StrictLoader, node: yaml.ScalarNode) -> Any:
        value = kind(base(loader, node))
        value.text = str(node.value)
        return value

    return construct


StrictLoader.add_constructor("tag:yaml.org,2002:int", _number(YamlInt, yaml.SafeLoader.construct_yaml_int))
StrictLoader.add_constructor("tag:yaml.org,2002:float", _number(YamlFloat, yaml.SafeLoader.construct_yaml_float))
StrictLoader.add_constructor("tag:yaml.org,2002:map", lambda loader, node: loader.construct_mapping(node, deep=True))


def _expanded_size(node: yaml.Node, memo: dict[int, int]) -> int:
    """How many values the node stands for once every alias is expanded."""
    if id(node) in memo:
        return memo[id(node)]
    memo[id(node)] = 1  # a cycle counts once
    if isinstance(node, yaml.SequenceNode):
        size = 1 + sum(_expanded_size(n, memo) for n in node.value)
    elif isinstance(node, yaml.MappingNode):
        size = 1 + sum(_expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value)
    else:
        size = 1
    memo[id(node)] = min(size, MAX_NODES + 1)
    return memo[id(node)]


def _too_deep(node: yaml.Node) -> bool:
    """Whether lists and mappings nest deeper than MAX_DEPTH (walked without recursion)."""
    todo: list[tuple[yaml.Node, int]] = [(node, 1)]
    deepest: dict[int, int] = {}  # an alias is walked again only where it sits deeper than before
    while todo:
        current, depth = todo.pop()
        if depth > MAX_DEPTH:
            return True
        if deepest.get(id(current), 0) >= depth or not isinstance(current, yaml.SequenceNode | yaml.MappingNode):
            continue
        deepest[id(current)] = depth
        children = current.value if isinstance(current, yaml.SequenceNode) else [n for pair in current.value for n in pair]
        todo.extend((child, depth + 1) for child in children)
    return False


def load_config(path: str | Path) -> StackConfig:
    """Read and validate a YAML stack description."""
    return load_with_sources(path)[0]


def load_with_sources(path: str | Path) -> tuple[StackConfig, Sources]:
    """A stack description, and where each service's version comes from (the stack file or its releases file)."""
    path = Path(path)
    try:
        raw = read_bounded(path, MAX_FILE_BYTES)  # a FIFO, a device or a directory is refused before it is opened
    except OSError as exc:
        raise ConfigError(str(path), os_problem(exc), "check the path") from None
    releases = read_releases(path)  # what stack-cfn release shipped, on top of the stack file
    return parse_with_sources(decode(raw, str(path)), str(path), releases)


def states_region(path: str | Path, cfg: StackConfig) -> bool:
    """Whether the stack file names its region (a top-level `region:`), rather than leaving it to the default."""
    if cfg.region != StackConfig.__dataclass_fields__["region"].default:
        return True
    try:
        text = read_bounded(path, MAX_FILE_BYTES).decode("utf-8", errors="replace")
    except (OSError, ConfigError):
        return False
    return re.search(r"""(?m)^["']?region["']?\s*:""", text) is not None


def decode(raw: bytes, source: str) -> str:
    if len(raw) > MAX_FILE_BYTES:
        raise ConfigError(source, f"is larger than {MAX_FILE_BYTES // 1024} KiB", "a stack description is a small YAML text file; check the path")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ConfigError(source, "is UTF-16 text", "save it as UTF-8")
    if b"\x00" in raw:
        raise ConfigError(source, "is binary, not YAML text", "check the path; a stack description is a YAML text file")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(source, f"is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})", "save it as UTF-8") from None


def parse_config(text: str, source: str = "<string>", releases: Mapping[str, Release] | None = None) -> StackConfig:
    return parse_with_sources(text, source, releases or {})[0]


def parse_with_sources(text: str, source: str, releases: Mapping[str, Release]) -> tuple[StackConfig, Sources]:
    data = parse_yaml(text, source)
    if not isinstance(data, dict):
        raise ConfigError(source, "must be a YAML mapping of settings", "start with name: and environment: (every other setting has a default)")
    data, sources = apply_releases(data, releases, source)
    return from_mapping(StackConfig, with_stack_early_stop(with_default_deployment(with_stack_alarms(with_default_load_balancer(with_default_launch_type(data))))), ""), sources


def with_stack_alarms(data: dict[str, Any]) -> dict[str, Any]:
    """Each service's alarm thresholds: the stack's `alarms:` (checked first, under its own path), with the service's own on top."""
    stack = _stack_setting(data, "alarms", "alarms: {emails: [ops@example.com]}")
    if stack is None:
        return data
    return _under_each_service(data, "alarms", from_mapping(AlarmsConfig, stack, "alarms.").service_defaults)


def with_stack_early_stop(data: dict[str, Any]) -> dict[str, Any]:
    """Each service's early stop: the stack's `early_stop:` (checked first, under its own path), the service's own settings on top
    (every service, workers too: the watch reads what ECS says, whatever the service's shape)."""
    stack = _stack_setting(data, "early_stop", "early_stop: {failed_tasks: 3, within_minutes: 5}")
    if stack is None:
        return data
    from_mapping(EarlyStop, stack, "early_stop.")
    return _under_each_service(data, "early_stop", stack)


def _stack_setting(data: dict[str, Any], key: str, example: str) -> dict[str, Any] | None:
    """The stack's `key:` mapping that its services take as defaults; None when there is none or no services list."""
    stack = data.get(key)
    if stack is None or not isinstance(data.get("services"), list):
        return None
    if not isinstance(stack, dict):
        raise ConfigError(key, "must be a mapping of settings", f"write it like {example}")
    return stack


def _under_each_service(data: dict[str, Any], key: str, defaults: Mapping[str, Any]) -> dict[str, Any]:
    """Each service's `key`: the stack's defaults with the service's own settings on top; a service's value that is not a
    mapping is left as written, for the service's own check to name."""
    merged = []
    for s in data["services"]:
        own = s.get(key) if isinstance(s, dict) else None
        merged.append({**s, key: {**defaults, **own} if isinstance(own, dict) else defaults if own is None else own} if isinstance(s, dict) else s)
    return {**data, "services": merged}


def with_default_load_balancer(data: dict[str, Any]) -> dict[str, Any]:
    """The stack's `load_balancer` for each service that names none (checked with the service's own settings)."""
    default = data.get("load_balancer")
    services = data.get("services")
    if default is None or not isinstance(services, list):
        return data
    return {**data, "services": [{**s, "load_balancer": default} if isinstance(s, dict) and "load_balancer" not in s and s.get("kind") != Exposure.NONE.value
                                 else s for s in services]}


def with_default_deployment(data: dict[str, Any]) -> dict[str, Any]:
    """The stack's `deployment:` for each service with a load balancer that sets none (a service's own replaces it whole)."""
    default = data.get("deployment")
    services = data.get("services")
    if default is None or not isinstance(services, list):
        return data
    return {**data, "services": [{**s, "deployment": default} if isinstance(s, dict) and "deployment" not in s and s.get("kind") != Exposure.NONE.value
                                 else s for s in services]}


def _char_at(text: str, line: int, column: int) -> str:
    lines = text.splitlines()
    return lines[line][column:column + 1] if line < len(lines) else ""


def parse_yaml(text: str, source: str) -> Any:
    try:
        loader = StrictLoader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return None
            if _too_deep(node):
                raise ConfigError(source, f"nests lists and mappings deeper than {MAX_DEPTH} levels", "flatten it; a stack file needs a few levels")
            if _expanded_size(node, {}) > MAX_NODES:
                raise ConfigError(source, f"expands to more than {MAX_NODES} values through YAML aliases", "write the values out, or use fewer aliases")
            return loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = " ".join(str(getattr(exc, "problem", None) or str(exc).splitlines()[0]).split())[:120]
        if mark and _char_at(text, mark.line, mark.column) == "\t":
            problem += " (a tab: YAML indents with spaces)"
        raise ConfigError(source, f"is not valid YAML{where}: {problem}", "fix the YAML syntax") from None


T = TypeVar("T")


@functools.cache
def type_hints(cls: type) -> dict[str, Any]:
    """A dataclass's resolved field types, resolved once per class (1,000 services are 1,000 lookups)."""
    return typing.get_type_hints(cls)


def from_mapping(cls: type[T], data: Mapping[Any, Any], path: str) -> T:
    """Build a model dataclass from plain data, rejecting unknown keys and wrong types."""
    klass: type = cls  # the class as functools.cache keys it
    hints = type_hints(klass)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]  # T is a model dataclass; a TypeVar cannot say so
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        where = f"{path}{key}" if isinstance(key, str) else f"{path}{quote(key)}"
        if key not in fields:
            close = difflib.get_close_matches(str(key), list(fields), n=1)
            fix = f"did you mean {close[0]}?" if close else "remove it (see stack.schema.json for the known keys)"
            raise ConfigError(where, "is not a known setting", fix)
        if fields[key].metadata.get("load") is not None:
            kwargs[key] = fields[key].metadata["load"](value, where)
        elif key == "services" and cls is StackConfig:
            kwargs[key] = _services(value, where)
        else:
            kwargs[key] = coerce(hints[key], value, where)
    for name, f in fields.items():
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        if required and name not in kwargs:
            raise ConfigError(f"{path}{name}", "is required", f"add {name}: to the description")
    if cls in (StackConfig, ServiceConfig, DatabaseConfig, IamUserConfig, JobConfig):  # these name their own fields' paths
        return cls(**kwargs)
    try:
        return cls(**kwargs)
    except ConfigError as exc:  # a nested object names its own fields; put them under their path
        raise ConfigError(f"{path}{exc.field}", exc.problem, exc.fix) from None


def _services(value: Any, where: str) -> tuple[ServiceConfig, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ConfigError(where, "must be a list of services", "write each as - name: ... image: ...")
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise ConfigError(f"{where}[{i}]", "must be a mapping", "write it as - name: ... image: ...")
        name = item.get("name")
        label = f".{ServiceConfig.label_for(name)}" if isinstance(name, str) else f"[{i}]"
        out.append(from_mapping(ServiceConfig, item, f"services{label}."))
    return tuple(out)


def _scalar(hint: Any, value: Any, where: str) -> Any:
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(where, f"expected true or false, got {quote(value)}", "write true or false")
        return value
    if hint is int:
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            raise ConfigError(where, f"expected a whole number, got the string {quote(value)}", f"write it without quotes: {value.strip()}")
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(where, f"expected a whole number, got {quote(value)}", "write a whole number such as 3")
        return int(value)
    if value is None:
        raise ConfigError(where, "has no value", "give it a value, or remove the line for the default")
    if isinstance(value, str):
        return value
    if isinstance(value, _Number):
        raise ConfigError(where, f"{value.text} is read as the number {value!r}, but a string is expected",
                          f'quote it to keep it as written: "{value.text}"')
    raise ConfigError(where, f"expected a string, got {quote(value)}", "quote the value")


def _item_path(where: str, index: int, item: Any, hint: Any) -> str:
    """A named item of a list of settings (a database, a user) is named by its name, as services are: databases.main."""
    name = item.get("name") if isinstance(item, dict) and dataclasses.is_dataclass(hint) else None
    return f"{where}.{ServiceConfig.label_for(name)}" if isinstance(name, str) else f"{where}[{index}]"


def coerce(hint: Any, value: Any, where: str) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return coerce(inner, value, where)
    if origin is Literal:
        return _scalar(str, value, where)  # the field's rule names the allowed values
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(where, f"expected a number, got {quote(value)}", "write a number such as 0.5")
        return float(value)
    if hint in (bool, int, str):
        return _scalar(hint, value, where)
    if origin is tuple:
        if not isinstance(value, list):
            raise ConfigError(where, f"expected a list, got {quote(value)}", "write a YAML list")
        return tuple(coerce(args[0], v, _item_path(where, i, v, args[0])) for i, v in enumerate(value))
    if origin in (Mapping, dict) or hint is Mapping:
        if not isinstance(value, dict):
            raise ConfigError(where, f"expected a mapping, got {quote(value)}", "write NAME: value pairs")
        if any(not isinstance(k, str) for k in value):
            bad = next(k for k in value if not isinstance(k, str))
            raise ConfigError(f"{where}.{quote(bad)}", "is not a name", "write names as text")
        return types.MappingProxyType({k: coerce(str, v, f"{where}.{k}") for k, v in sorted(value.items())})
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            raise ConfigError(where, f"expected a mapping, got {quote(value)}", "write it as key: value pairs")
        return from_mapping(hint, value, f"{where}.")
    raise TypeError(f"no coercion for {hint!r}")  # a programming error, not user input


def strict_yaml(text: str, path: Path, fix: str) -> Any:
    """A file stack-cfn writes beside the stack file (placement, releases), read as strictly as the stack file."""
    try:
        return parse_yaml(text, str(path)) or {}
    except ConfigError as exc:
        field = str(path) if exc.field == str(path) else f"{path.name}: {exc.field}"
        raise ConfigError(field, exc.problem, fix) from None
