"""How the model checks itself: each field by its rule, then a table of named cross-field checks.

A setting declares its rule in its dataclass field (`setting(..., rule=...)`);
`check_fields` applies every such rule, and `run_checks` walks a table of
`Check` rows, each a named condition with the one-line error it raises.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from stack_cfn.errors import ConfigError
from stack_cfn.model.rules import Rule, fix_of

T = TypeVar("T")
V = TypeVar("V")
Text = str | Callable[[Any], str]


def found(value: V | None) -> V:
    """What a check's finder found, in its field or message: those are made only once `broken` found something."""
    if value is None:
        raise ValueError("a check's message was made though its finder found nothing")  # a programming error
    return value


def setting(default: Any = dataclasses.MISSING, *, rule: Rule | None = None, each: Rule | None = None, doc: str = "",
            factory: Callable[[], Any] | None = None, load: Callable[[Any, str], Any] | None = None) -> Any:
    """A model field: its default, the rule its value (or each item, `each`) follows, its documentation, and
    (`load`) how the stack file's value is read when it is not a plain type."""
    metadata = {"rule": rule, "each": each, "doc": doc, "load": load}
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def field_rule(cls: type, name: str) -> Rule | None:
    return next(f for f in dataclasses.fields(cls) if f.name == name).metadata.get("rule")


def field_default(cls: type, name: str) -> Any:
    f = next(f for f in dataclasses.fields(cls) if f.name == name)
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default


def _apply(rule: Rule, where: str, value: Any) -> None:
    problem = rule.problem(value)
    if problem:
        raise ConfigError(where, problem, fix_of(rule))


def check_fields(obj: Any, prefix: str) -> None:
    """Apply every field's declared rule; None means "not set" and is not checked."""
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if value is None:
            continue
        if f.metadata.get("rule") is not None:
            _apply(f.metadata["rule"], f"{prefix}{f.name}", value)
        each = f.metadata.get("each")
        if each is not None:
            items: Iterable[tuple[Any, Any]] = value.items() if isinstance(value, Mapping) else enumerate(value)
            for key, item in items:
                where = f"{prefix}{f.name}.{key}" if isinstance(value, Mapping) else f"{prefix}{f.name}[{key}]"
                _apply(each, where, item)


@dataclass(frozen=True)
class Check(Generic[T]):
    """A named condition on a whole object: when `broken` holds, `field: problem; fix`."""

    name: str
    field: Text
    broken: Callable[[T], Any]
    problem: Text
    fix: Text

    def apply(self, obj: T, prefix: str) -> None:
        if self.broken(obj):
            def text(t: Text) -> str:
                return t(obj) if callable(t) else t

            raise ConfigError(f"{prefix}{text(self.field)}", text(self.problem), text(self.fix))


def run_checks(obj: T, table: Iterable[Check[T]], prefix: str = "") -> None:
    for check in table:
        check.apply(obj, prefix)
