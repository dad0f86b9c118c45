"""The releases file and release requests, without AWS."""

from __future__ import annotations

from pathlib import Path

import pytest

from stack_cfn.errors import ConfigError
from stack_cfn.model.loading import load_config, load_with_sources
from stack_cfn.model.releases import MARKER, Release, read_releases, releases_path, releases_text
from stack_cfn.ship.release import foreign_changes, parse_requests, recorded

STACK = "name: a\nenvironment: prod\nservices:\n  - {name: api, image: nginx, port: 80, version: '1.0'}\n"


def test_a_recorded_release_applies_on_top_of_the_stack_file(tmp_path: Path) -> None:
    config = tmp_path / "stack.yaml"
    config.write_text(STACK)
    releases_path(config).write_text(releases_text({"api": Release("1.4.2", "registry.example.com/team/api")}))
    svc = load_config(config).services[0]
    assert (svc.version, svc.image) == ("1.4.2", "registry.example.com/team/api")
    assert releases_path(config).read_text().startswith(MARKER)


@pytest.mark.parametrize("text,error", [
    ("other:\n  version: '1'\n", "stack.releases.yaml: other: is not a service of the stack file"),
    ("api:\n  version: '1 2'\n", "stack.releases.yaml: api: '1 2' is not an image tag"),
    ("- api\n", "is not a mapping of service: {version, image}"),
])
def test_a_broken_releases_file_is_one_line(tmp_path: Path, text: str, error: str) -> None:
    config = tmp_path / "stack.yaml"
    config.write_text(STACK)
    releases_path(config).write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(config)
    assert error in str(err.value) and "\n" not in str(err.value)


def test_requests() -> None:
    assert parse_requests(["api=1.4.2", "www=1.4.2"], None, []) == {"api": Release("1.4.2"), "www": Release("1.4.2")}
    assert parse_requests(["api"], "2.0", ["team/api"]) == {"api": Release("2.0", "team/api")}
    with pytest.raises(ConfigError, match="is released twice"):
        parse_requests(["api=1", "api=2"], None, [])
    with pytest.raises(ConfigError, match="--image: www is not being released"):
        parse_requests(["api=1"], None, ["www=team/www"])


def test_only_the_released_services_nested_stacks_may_change() -> None:
    changes = [{"LogicalResourceId": "ApiService"}, {"LogicalResourceId": "ApiService/TaskDefinition"}, {"LogicalResourceId": "NetworkStack"}]
    assert foreign_changes(changes, ["ApiService"]) == ["NetworkStack"]
    assert foreign_changes(changes[:2], ["ApiService"]) == []


def _released_over(tmp_path: Path, stack_version: str, entry: Release) -> Path:
    config = tmp_path / "stack.yaml"
    config.write_text(STACK.replace("version: '1.0'", f"version: '{stack_version}'"))
    releases_path(config).write_text(releases_text({"api": entry}))
    return config


def test_a_release_wins_while_the_stack_file_still_says_what_it_was_released_over(tmp_path: Path) -> None:
    config = _released_over(tmp_path, "1.0", Release("1.4.2", over="1.0"))
    cfg, sources = load_with_sources(config)
    assert cfg.services[0].version == "1.4.2" and not sources.stale and not sources.notes
    assert sources.origins == {"api": "stack.releases.yaml (release over stack.yaml's 1.0)"}


def test_editing_the_stack_files_version_after_a_release_makes_the_stack_file_win(tmp_path: Path) -> None:
    """issue 19: after `release api=1.4.2`, `version: 1.5.0` in the stack file was silently ignored."""
    config = _released_over(tmp_path, "1.5.0", Release("1.4.2", over="1.0"))
    cfg, sources = load_with_sources(config)
    assert cfg.services[0].version == "1.5.0"
    assert sources.stale == ("api",) and sources.origins == {"api": "stack.yaml"}
    assert len(sources.notes) == 1 and "stack.yaml says 1.5.0, edited since stack.releases.yaml recorded release 1.4.2 over 1.0" in sources.notes[0]
    assert sources.kept(read_releases(config)) == {}


def test_a_released_image_goes_stale_when_the_stack_files_image_changes(tmp_path: Path) -> None:
    config = _released_over(tmp_path, "1.0", Release("1.4.2", "team/api", over="1.0", over_image="nginx"))
    assert load_config(config).services[0].image == "team/api"
    config.write_text(STACK.replace("image: nginx", "image: team/new"))
    cfg, sources = load_with_sources(config)
    assert (cfg.services[0].image, cfg.services[0].version, sources.stale) == ("team/new", "1.0", ("api",))


def test_an_entry_from_before_over_was_recorded_still_wins_and_says_so(tmp_path: Path) -> None:
    config = _released_over(tmp_path, "1.5.0", Release("1.4.2"))
    cfg, sources = load_with_sources(config)
    assert cfg.services[0].version == "1.4.2" and "recorded before" in sources.origins["api"]


def test_a_release_records_the_stack_files_own_version_not_an_earlier_release(tmp_path: Path) -> None:
    config = _released_over(tmp_path, "1.0", Release("1.4.2", over="1.0"))
    _, sources = load_with_sources(config)
    assert recorded({"api": Release("1.5.0")}, sources) == {"api": Release("1.5.0", over="1.0")}
    assert recorded({"api": Release("1.5.0", "team/api")}, sources) == {"api": Release("1.5.0", "team/api", "1.0", "nginx")}
    text = releases_text(recorded({"api": Release("1.5.0")}, sources))
    assert text.startswith(MARKER) and "over: '1.0'" in text
