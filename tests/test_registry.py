"""The module registry (blueprints/registry.py): every module compiles, is documented and lints, and adding one touches
its own files and one line of the registry."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
from troposphere import Output, Template

from stack_cfn.blueprints import registry
from stack_cfn.blueprints.compiler import compile_generic, compile_stack
from stack_cfn.blueprints.contract import Contract, Out, Param
from stack_cfn.blueprints.registry import MODULES, Module, Variant
from stack_cfn.blueprints.service_contract import Service
from stack_cfn.model.loading import parse_config
from stack_cfn.ship.lint import lint_findings

ROOT = Path(__file__).resolve().parent.parent
BLUEPRINTS = ROOT / "stack_cfn" / "blueprints"
EVERY_MODULE = parse_config("""
name: every
environment: prod
shared_certificate_arn: arn:aws:acm:us-west-2:123456789012:certificate/12345678-1234-1234-1234-123456789012
databases:
  - {name: main}
iam_users:
  - {name: ci, policies: [arn:aws:iam::aws:policy/ReadOnlyAccess]}
services:
  - {name: api, image: nginx, port: 80, databases: [main]}
  - {name: www, image: nginx, port: 80, kind: web-service, load_balancer: shared}
""")


def test_every_registered_module_compiles_into_the_root() -> None:
    compiled = compile_stack(EVERY_MODULE)
    root = json.loads(compiled.files[compiled.root])["Resources"]
    for m in MODULES:
        shapes = m.instances(EVERY_MODULE, compiled.placement.seats)
        assert shapes, f"the test stack has no {m.name}: add one to EVERY_MODULE"
        for shape in shapes:
            nested = root[m.logical_id(shape)]["Properties"]
            assert nested["TemplateURL"].startswith(m.stem(shape)), m.name
            declared = json.loads(compiled.files[nested["TemplateURL"]])["Parameters"]
            assert set(nested["Parameters"]) <= set(declared), m.name


def test_module_names_logical_ids_and_generic_files_are_unique() -> None:
    names = [m.name for m in MODULES]
    generic = [name for m in MODULES for name in m.generic()]
    assert len(set(names)) == len(names) and len(set(generic)) == len(generic)
    assert set(compile_generic().files) == {"stack.json", *generic}


@pytest.mark.parametrize("m", MODULES, ids=[m.name for m in MODULES])
def test_every_module_is_documented(m: Module) -> None:
    assert m.docs.summary
    reference = (ROOT / "docs" / "templates.md").read_text()
    for filename in m.generic():
        assert f"\n## {filename}\n" in reference, f"{filename}: run make templates"
    settings = (ROOT / "docs" / "settings.md").read_text()
    for title, _ in m.docs.settings:
        assert f"\n## {title}\n" in settings, f"{title}: run make templates"


@pytest.mark.parametrize("m", MODULES, ids=[m.name for m in MODULES])
def test_every_modules_generic_templates_lint(m: Module) -> None:
    files = compile_generic().files
    assert [f for name in m.generic() for f in lint_findings(name, files[name])] == []


# ---------------------------------------------------------------- the files a module touches

GENERIC_FILES = ("compiler.py", "root.py", "group.py", "contract.py")


def _module_files() -> set[str]:
    """Each module's own blueprint files: its builder's and its contract's."""
    import inspect

    return {Path(inspect.getsourcefile(f) or "").name for m in MODULES for f in (m.build, m.contract)}


@pytest.mark.parametrize("m", MODULES, ids=[m.name for m in MODULES])
def test_a_module_is_registered_in_one_line(m: Module) -> None:
    """Adding a module is its own model and blueprint files and ONE line of registry.py: its name appears there once."""
    text = (BLUEPRINTS / "registry.py").read_text()
    registrations = re.findall(rf'^\s*(?:Module|layer)\("{m.name}",', text, flags=re.MULTILINE)
    assert len(registrations) == 1


def test_the_generic_path_names_no_module() -> None:
    """The compiler, root, service groups, contract machinery and docs import no module's files and name no module or contract."""
    own = {p.removesuffix(".py") for p in _module_files()}
    names = {m.name for m in MODULES} | {m.contract.__name__ for m in MODULES}
    offenders: dict[str, list[str]] = {}
    for path in [*(BLUEPRINTS / f for f in GENERIC_FILES), ROOT / "stack_cfn" / "docs.py"]:
        tree = ast.parse(path.read_text())
        imported = {n.module.rsplit(".", 1)[-1] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
        found = sorted((imported & own) | (used & names))
        if found:
            offenders[path.name] = found
    assert offenders == {}


# ---------------------------------------------------------------- variants


class Extra(Contract):
    """A variant's rows: a parameter and an output that exist only where the variant applies."""

    LaunchMode = Param("The variant's own parameter", default="x", when=lambda s: s.name == "api")

    class Outputs:
        LaunchModeSeen = Out("The variant's own output", export=False, when=lambda s: s.name == "api")


def _part(t: Template, shape: object, p: object) -> None:
    t.add_output(Output(Extra.Outputs.LaunchModeSeen.name, Value=p[Extra.LaunchMode]))  # type: ignore[index]  # p is a Declared


def test_a_variant_adds_rows_and_builder_parts_where_it_applies(monkeypatch: pytest.MonkeyPatch) -> None:
    """The extension point the service's launch types use: one Variant row adds contract rows and a builder part."""
    monkeypatch.setattr(registry, "VARIANTS", (Variant("test", "service", rows=Extra, applies=lambda s: s.name == "api", parts=(_part,)),))
    monkeypatch.setattr(Service, "variants", (Extra,))
    compiled = compile_stack(EVERY_MODULE)
    root = json.loads(compiled.files[compiled.root])["Resources"]
    api = json.loads(compiled.files[root["ApiService"]["Properties"]["TemplateURL"]])
    www = json.loads(compiled.files[root["WwwService"]["Properties"]["TemplateURL"]])
    assert "LaunchMode" in api["Parameters"] and api["Outputs"]["LaunchModeSeen"]["Value"] == {"Ref": "LaunchMode"}
    assert "LaunchMode" not in www["Parameters"] and "LaunchModeSeen" not in www.get("Outputs", {})
