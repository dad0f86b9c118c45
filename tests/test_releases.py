"""The releases file and release requests, without AWS."""

from __future__ import annotations

from pathlib import Path

import pytest

from stack_cfn.errors import ConfigError
from stack_cfn.model.loading import load_config
from stack_cfn.model.releases import MARKER, Release, releases_path, releases_text
from stack_cfn.ship.release import foreign_changes, parse_requests

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
