"""Releases: the image versions CI shipped with `stack-cfn release`, recorded beside the stack file.

`stack-cfn release api=1.4.2` records `api: {version: "1.4.2"}` in `<stack file stem>.releases.yaml`
(written only by stack-cfn, marked as such) after the release succeeds; loading the stack file
applies it on top, so the next `stack-cfn deploy` ships the released version instead of rolling it
back. Commit the releases file with the stack file, or let CI own it.

Precedence, never silent: each entry records the stack file's version (and image) it was released
over (`over`, `over_image`). While the stack file still says that, the release wins; once someone
edits the stack file's version (or image) since, the stack file wins, the entry is stale: a warning
names it, and the next deploy or release removes it. Entries written before `over` existed win, as
they did. `plan` shows where each service's version comes from (Sources.origins).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from stack_cfn.errors import ConfigError
from stack_cfn.model import rules as R
from stack_cfn.model.reading import read_side_file

MARKER = "# Written by stack-cfn release"


@dataclasses.dataclass(frozen=True)
class Release:
    """A service's released image: a version (tag), and optionally another image."""

    version: str
    image: str = ""
    over: str = ""  # the stack file's version when this was released
    over_image: str = ""  # and its image, when the release changed the image

    def check(self, where: str) -> None:
        for field, rule in (("version", R.IMAGE_TAG), ("image", R.IMAGE), ("over", R.IMAGE_TAG), ("over_image", R.IMAGE)):
            value = getattr(self, field)
            if value or field == "version":
                problem = rule.problem(value)
                if problem:
                    raise ConfigError(f"{where}.{field}" if field != "version" else where, problem, rule.fix)

    def shipped(self) -> Release:
        """What a service runs: the version and image, without what they were released over."""
        return Release(self.version, self.image)


def releases_path(config: str | Path) -> Path:
    config = Path(config)
    return config.with_name(f"{config.stem}.releases.yaml")


def read_releases(config: str | Path) -> dict[str, Release]:
    """The releases recorded beside a stack file ({} when there is no releases file)."""
    path = releases_path(config)
    try:
        text = read_side_file(path, "fix or remove the file")  # never a FIFO or device: see model/reading.py
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), f"cannot be read ({exc})", "fix or remove the file") from None
    data = _parse(text, path)
    out = {}
    for name, entry in data.items():
        where = f"{path.name}: {name}"
        release = Release(_text(entry.get("version"), where, required=True), _text(entry.get("image", ""), f"{where}.image"),
                          _text(entry.get("over", ""), f"{where}.over"), _text(entry.get("over_image", ""), f"{where}.over_image"))
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
    return (f"{MARKER}: the versions CI shipped, each over the stack file's version it replaced (over).\n"
            "# Commit it; stack-cfn deploy reads it. Editing a version in the stack file since makes the stack file win.\n"
            + yaml.safe_dump(body, sort_keys=True, default_flow_style=False))


@dataclasses.dataclass(frozen=True)
class Sources:
    """Where each service's version comes from, once the releases file is applied to the stack file."""

    origins: Mapping[str, str] = dataclasses.field(default_factory=dict)  # service -> where its version and image come from
    stack_file: Mapping[str, Release] = dataclasses.field(default_factory=dict)  # service -> the stack file's own version and image
    stale: tuple[str, ...] = ()  # released services whose stack-file version changed since: the stack file wins
    notes: tuple[str, ...] = ()

    def kept(self, releases: Mapping[str, Release]) -> dict[str, Release]:
        """The releases without the stale entries (what the releases file keeps)."""
        return {name: r for name, r in releases.items() if name not in self.stale}


def _stack_file_releases(services: list[Any]) -> dict[str, Release]:
    """Each named service's own version and image in the stack file (the default version when it says none)."""
    from stack_cfn.model.config import ServiceConfig  # the default a service without version: gets

    default = next(f.default for f in dataclasses.fields(ServiceConfig) if f.name == "version")
    return {s["name"]: Release(str(s.get("version", default)), str(s.get("image", ""))) for s in services
            if isinstance(s, dict) and isinstance(s.get("name"), str)}


def _is_stale(release: Release, own: Release) -> bool:
    """The stack file's version (or released image) was edited since the release recorded what it replaced."""
    return bool(release.over) and (own.version != release.over or bool(release.over_image) and own.image != release.over_image)


def apply_releases(data: dict[str, Any], releases: Mapping[str, Release], source: str) -> tuple[dict[str, Any], Sources]:
    """The stack file's data with each released service's version (and image) replaced, unless the stack file changed it since;
    and where each version comes from. `source` is the stack file's path."""
    stack_file, releases_file = Path(source).name, releases_path(source).name
    listed = data.get("services")
    services: list[Any] = listed if isinstance(listed, list) else []
    own = _stack_file_releases(services)
    unknown = sorted(set(releases) - set(own))
    if unknown:
        raise ConfigError(f"{releases_file}: {unknown[0]}", "is not a service of the stack file", "remove it from the releases file, or add the service")
    stale = tuple(sorted(name for name, r in releases.items() if _is_stale(r, own[name])))
    applied = {name: r.shipped() for name, r in releases.items() if name not in stale}
    notes = tuple(f"services.{name}: {stack_file} says {own[name].version}, edited since {releases_file} recorded release {releases[name].version} "
                  f"over {releases[name].over}: {stack_file} wins, and the next deploy or release removes the stale entry" for name in stale)
    origins = {name: (f"{releases_file} (release over {stack_file}'s {releases[name].over})" if releases[name].over
                      else f"{releases_file} (recorded before stack-cfn noted the version it replaced)") if name in applied
               else stack_file for name in own}
    patched = [{**s, **{k: v for k, v in dataclasses.asdict(applied[s["name"]]).items() if v}} if isinstance(s, dict) and s.get("name") in applied
               else s for s in services]
    return ({**data, "services": patched} if applied else data), Sources(origins, own, stale, notes)
