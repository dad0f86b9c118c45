"""The commands that only read and write files: build, templates, schema, docs, diagram, check."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from stack_cfn import app
from stack_cfn.app import NOTHING_SENT, StackFile
from stack_cfn.ship.files import write_generated, write_tree
from stack_cfn.ship.report import Progress


@dataclass(frozen=True)
class BuildRequest:
    source: StackFile
    output: str


@dataclass(frozen=True)
class BuildResult:
    count: int
    output: str
    root: str


def build(request: BuildRequest, out: Progress) -> BuildResult:
    cfg = app.load(request.source, out)
    compiled = app.compile_and_lint(request.source, cfg, out)
    with out.step(f"writing {request.output}/", "the files written so far are complete; build again"):
        write_tree(Path(request.output), compiled.files, protect=[Path(request.source.path)])
    app.record_placement(request.source, out, compiled)
    return BuildResult(len(compiled.files), request.output, compiled.root)


@dataclass(frozen=True)
class TemplatesRequest:
    output: str


@dataclass(frozen=True)
class TemplatesResult:
    count: int
    output: str


def templates(request: TemplatesRequest, out: Progress) -> TemplatesResult:
    from stack_cfn.blueprints.compiler import compile_generic
    from stack_cfn.ship.lint import lint_templates

    with out.step("compiling and linting the generic templates", NOTHING_SENT):
        compiled = compile_generic()
        with out.status("linting templates with cfn-lint"):
            lint_templates(compiled.files)
    with out.step(f"writing {request.output}/", "the files written so far are complete; run it again"):
        write_tree(Path(request.output), compiled.files)
    return TemplatesResult(len(compiled.files), request.output)


@dataclass(frozen=True)
class SchemaRequest:
    output: str


@dataclass(frozen=True)
class SchemaResult:
    path: Path


def schema(request: SchemaRequest, out: Progress) -> SchemaResult:
    from stack_cfn.model.schema import GENERATED, schema_json

    path = Path(request.output)
    with out.step(f"writing {path}", "run it again"):
        write_generated(path, schema_json(), GENERATED)
    return SchemaResult(path)


@dataclass(frozen=True)
class DocsRequest:
    source: StackFile
    output: str | None = None  # default: the stack file's name with .md
    reference: str | None = None  # instead, stack-cfn's own reference pages into this directory


@dataclass(frozen=True)
class DocsResult:
    written: tuple[Path, ...]
    config: str | None = None  # the stack file documented (None: the reference pages)


def docs(request: DocsRequest, out: Progress) -> DocsResult:
    """The user's stack documented in a Markdown file (-c, -o); with --reference DIR, the project's reference pages."""
    from stack_cfn import docs as pages
    from stack_cfn.blueprints.compiler import compile_generic, compile_stack
    from stack_cfn.ship.placement_file import read_placement

    source = request.source
    if request.reference is None:
        cfg = app.load(source, out)
        compiled = compile_stack(cfg, recorded=read_placement(source.path))
        path = Path(request.output or Path(source.path).with_suffix(".md"))
        with out.step(f"writing {path}", "run it again"):
            write_generated(path, pages.stack_md(cfg, Path(source.path).name, compiled.files, compiled.root), pages.STACK_GENERATED)
        return DocsResult((path,), source.path)
    directory = Path(request.reference)
    texts = {"templates.md": pages.templates_md(compile_generic().files), "settings.md": pages.settings_md()}
    with out.step(f"writing {directory}/", "the pages written so far are complete; run it again"):
        make_directory(directory)
        for name, text in texts.items():
            write_generated(directory / name, text, pages.GENERATED)
    return DocsResult(tuple(directory / name for name in texts))


def make_directory(directory: Path) -> None:
    """An output directory, made when missing: a file there, or a path that cannot hold one, is one line."""
    from stack_cfn.ship.files import OutputError

    try:
        directory.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputError(directory, "is a file, not a directory", "give a directory for the pages, such as docs") from None
    except OSError as exc:
        raise OutputError(directory, f"cannot be made ({exc.strerror or exc})", "check the path and its permissions") from None


@dataclass(frozen=True)
class DiagramRequest:
    source: StackFile
    output: str = "-"  # a Markdown file, or - for the text itself (the CLI writes it to standard output)


@dataclass(frozen=True)
class DiagramResult:
    text: str
    written: str | None  # the file written, None when the text is for standard output


def diagram(request: DiagramRequest, out: Progress) -> DiagramResult:
    """A Mermaid diagram of the stack, as text or into a Markdown file."""
    from stack_cfn import docs as pages

    text = pages.diagram(app.load(request.source, out))
    if request.output == "-":
        return DiagramResult(text, None)
    write_generated(Path(request.output), f"{pages.GENERATED}\n\n{text}", pages.GENERATED, stream_ok=True)  # -o >(...) is written, never read
    return DiagramResult(text, request.output)


@dataclass(frozen=True)
class CheckRequest:
    source: StackFile
    regions: tuple[str, ...] = ()  # flags.regions: each known, once, one partition; none: the description's region
    stack_name: str | None = None


@dataclass(frozen=True)
class CheckResult:
    config: str
    regions: tuple[str, ...]


def check(request: CheckRequest, out: Progress) -> CheckResult:
    """Every rule decidable offline, for the description's region and each --region: nothing is written or sent."""
    from stack_cfn.model.aws_checks import check_aws_rules

    cfg = app.load(request.source, out)  # the stack file and its own region's rules
    regions = tuple(request.regions or (cfg.region,))
    for region in regions:
        check_aws_rules(cfg, region, request.stack_name)
    app.compile_and_lint(request.source, cfg, out)
    return CheckResult(request.source.path, regions)
