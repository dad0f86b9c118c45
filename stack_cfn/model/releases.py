"""Releases: the image versions CI shipped with `stack-cfn release`, recorded beside the stack file.

`stack-cfn release api=1.4.2` records `api: {version: "1.4.2"}` in `<stack file stem>.releases.yaml`
(written only by stack-cfn, marked as such) after the release succeeds; loading the stack file
applies it on top, so the next `stack-cfn deploy` ships the released version instead of rolling it
back. Commit the releases file with the stack file, or let CI own it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from stack_cfn.errors import ConfigError
from stack_cfn.model import rules as R

MARKER = "# Written by stack-cfn release"


@dataclasses.dataclass(frozen=True)
class Release:
    """A service's released image: a version (tag), and optionally another image."""

    version: str
    image: str = ""

    def check(self, where: str) -> None:
        for field, rule in (("version", R.IMAGE_TAG), ("image", R.IMAGE)):
            value = getattr(self, field)
            if value or field == "version":
                problem = rule.problem(value)
                if problem:
                    raise ConfigError(f"{where}.{field}" if field == "image" else where, problem, rule.fix)


def releases_path(config: str | Path) -> Path:
    config = Path(config)
    return config.with_name(f"{config.stem}.releases.yaml")


def read_releases(config: str | Path) -> dict[str, Release]:
    """The releases recorded beside a stack file ({} when there is no releases file)."""
    path = releases_path(config)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), f"cannot be read ({exc})", "fix or remove the file") from None
    data = _parse(text, path)
    out = {}
    for name, entry in data.items():
        where = f"{path.name}: {name}"
        release = Release(_text(entry.get("version"), where, required=True), _text(entry.get("image", ""), f"{where}.image"))
        release.check(where)
        out[str(name)] = release
    return out


def _parse(text: str, path: Path) -> dict[Any, Any]:
    """The file read as strictly as the stack file (duplicate keys, alias bombs, deep nesting are refused)."""
    from stack_cfn.model.loading import strict_yaml  # loading applies releases: imported here, not at the top

    data = strict_yaml(text, path, "remove it; stack-cfn release writes it anew")
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise ConfigError(str(path), "is not a mapping of service: {version, image}", "remove it; stack-cfn release writes it anew")
    return data


def _text(value: Any, where: str, required: bool = False) -> str:
    """A version or image as written: a YAML number (1.10 is 1.1) or null is refused, never converted."""
    if isinstance(value, str):
        return value
    if value is None or (value == "" and required):
        raise ConfigError(where, "has no version" if required else "has no value", "write the version as a quoted string, e.g. \"1.4.2\"")
    text = getattr(value, "text", str(value))
    raise ConfigError(where, f"{text} is read as the number {value!r}, not a version", f'quote it to keep it as written: "{text}"')


def releases_text(releases: Mapping[str, Release]) -> str:
    body = {name: {k: v for k, v in dataclasses.asdict(r).items() if v} for name, r in sorted(releases.items())}
    return f"{MARKER}: the versions CI shipped. Commit it; stack-cfn deploy reads it.\n" + yaml.safe_dump(body, sort_keys=True, default_flow_style=False)


def apply_releases(data: dict[str, Any], releases: Mapping[str, Release], source: str) -> dict[str, Any]:
    """The stack file's data with each released service's version (and image) replaced."""
    services = data.get("services") if isinstance(data.get("services"), list) else []
    known = {s.get("name") for s in services if isinstance(s, dict)}
    unknown = sorted(set(releases) - known)
    if unknown:
        raise ConfigError(f"{source}: {unknown[0]}", "is not a service of the stack file", "remove it from the releases file, or add the service")
    patched = [{**s, **{k: v for k, v in dataclasses.asdict(releases[s["name"]]).items() if v}} if isinstance(s, dict) and s.get("name") in releases
               else s for s in services]
    return {**data, "services": patched} if releases else data
