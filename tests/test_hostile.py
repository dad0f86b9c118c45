"""Tried as a new user would: odd files, odd output paths, odd endpoints, Ctrl-C. One line, no traceback, nothing lost."""

from __future__ import annotations

import http.server
import json
import os
import socket
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest
import yaml

from stack_cfn import app, cli
from stack_cfn.model.schema import schema_json
from stack_cfn.ship import local as local_module
from stack_cfn.ship.files import MANIFEST
from tests.conftest import AWS_ENV, ROOT, run_cli

GOOD = "name: my-app\nenvironment: prod\nkey_name: my-key\n"


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = cli.main(argv)
    return code, [line for line in capsys.readouterr().err.splitlines() if line.strip() and not line.endswith("...")]


def one_error(lines: list[str], *needles: str) -> None:
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    for needle in needles:
        assert needle in lines[0], lines[0]


# ---------------------------------------------------------------- files that are not stack files

ODD_FILES = {
    "utf-16": ("stack.yaml", GOOD.encode("utf-16"), "is UTF-16 text; save it as UTF-8"),
    "latin-1": ("stack.yaml", (GOOD + "key_name: clé\n").encode("latin-1"), "is not UTF-8 text (byte 0xe9 at offset"),
    "binary garbage": ("stack.yaml", bytes(range(256)) * 4, "is binary, not YAML text"),
    "too large": ("stack.yaml", b"# x\n" * 300_000, "is larger than 1024 KiB"),
}


@pytest.mark.parametrize("name,content,message", ODD_FILES.values(), ids=ODD_FILES.keys())
def test_a_file_that_is_not_a_stack_file(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, content: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    code, lines = run(["build", "-c", str(path), "-o", str(tmp_path / "build")], capsys)
    assert code == 1
    one_error(lines, str(path), message)
    assert not (tmp_path / "build").exists()


@pytest.mark.parametrize("source,message", [("/dev/zero", "is a character device, not a regular file"), (".", "is a directory, not a regular file"),
                                            ("missing.yaml", "cannot be read")])
def test_a_path_that_is_not_a_stack_file(tmp_path: Path, capsys: pytest.CaptureFixture[str], source: str, message: str) -> None:
    code, lines = run(["build", "-c", source, "-o", str(tmp_path / "build")], capsys)
    assert code == 1
    one_error(lines, message)


# ---------------------------------------------------------------- output directories


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A user's project: the stack file, a README and a repository."""
    proj = tmp_path / "proj"
    (proj / ".git").mkdir(parents=True)
    (proj / "stack.yaml").write_text(GOOD)
    (proj / "README.md").write_text("mine\n")
    return proj


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


OUTPUTS = {
    "the project itself": ("{proj}", "holds {proj}/stack.yaml"),
    "the stack file": ("{proj}/stack.yaml", "is a file, not a directory"),
    "a file's child": ("{proj}/README.md/build", "cannot be written"),
}


@pytest.mark.parametrize("output,message", OUTPUTS.values(), ids=OUTPUTS.keys())
def test_output_that_would_lose_files_is_refused(project: Path, capsys: pytest.CaptureFixture[str], output: str, message: str) -> None:
    before = snapshot(project)
    code, lines = run(["build", "-c", str(project / "stack.yaml"), "-o", output.format(proj=project)], capsys)
    assert code == 1
    one_error(lines, message.format(proj=project))
    assert snapshot(project) == before, "nothing deleted, nothing overwritten"


def test_output_holding_a_repository_or_foreign_files_is_refused(project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "stack.yaml"
    config.write_text(GOOD)
    before = snapshot(project)
    code, lines = run(["build", "-c", str(config), "-o", str(project)], capsys)
    one_error(lines, "is a git repository")
    (project / ".git").rmdir()
    code, lines = run(["build", "-c", str(config), "-o", str(project)], capsys)
    assert code == 1
    one_error(lines, "holds files stack-cfn did not write (README.md, stack.yaml)")
    assert snapshot(project) == before


def test_output_dot_in_a_project_is_refused(project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project)
    code, lines = run(["build", "-c", "stack.yaml", "-o", "."], capsys)
    assert code == 1
    one_error(lines, "holds stack.yaml")


def test_rebuild_keeps_the_directory_and_its_mode_and_removes_only_its_own_stale_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "stack.yaml"
    config.write_text(GOOD + "services:\n  - {name: api, image: nginx, port: 80}\n")
    out = tmp_path / "build"
    assert run(["build", "-c", str(config), "-o", str(out)], capsys)[0] == 0
    out.chmod(0o755)
    first = set(os.listdir(out))
    config.write_text(GOOD)  # the service, and its template file, go
    assert run(["build", "-c", str(config), "-o", str(out)], capsys)[0] == 0
    second = set(os.listdir(out))
    assert stat.S_IMODE(out.stat().st_mode) == 0o755
    assert {n for n in first - second} == {n for n in first if n.startswith("service-")}
    assert (out / MANIFEST).read_text().splitlines() == sorted(second - {MANIFEST})


def test_a_manifest_cannot_claim_files_outside_the_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config, out = tmp_path / "stack.yaml", tmp_path / "build"
    config.write_text(GOOD)
    out.mkdir()
    (out / MANIFEST).write_text("../stack.yaml\n.hidden\n")
    assert run(["build", "-c", str(config), "-o", str(out)], capsys)[0] == 0
    assert config.read_text() == GOOD


# ---------------------------------------------------------------- endpoints that are not AWS


class Fake(http.server.BaseHTTPRequestHandler):
    status, body = 200, b"<html><body>Welcome to nginx!</body></html>"

    def do_POST(self) -> None:  # noqa: N802
        self.send_response(self.status)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    do_GET = do_POST

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(params=[200, 500], ids=["html page", "http 500"])
def not_aws(request: pytest.FixtureRequest) -> Iterator[str]:
    handler = type("Handler", (Fake,), {"status": request.param})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()




def test_an_endpoint_that_is_not_aws(not_aws: str) -> None:
    result = run_cli("outputs", "--stack-name", "x", "--region", "us-east-1", "--endpoint-url", not_aws, env=AWS_ENV)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    one_error(lines, "--endpoint-url", not_aws)
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("url", ["notaurl", "ftp://example.com", "http://", "http://127.0.0.1:99999"])
def test_an_endpoint_that_is_not_a_url(url: str) -> None:
    result = run_cli("outputs", "--stack-name", "x", "--region", "us-east-1", "--endpoint-url", url, env=AWS_ENV)
    assert result.returncode == 1
    one_error([line for line in result.stderr.splitlines() if line.strip()], "--endpoint-url", "is not an http(s) URL")


# ---------------------------------------------------------------- the local AWS, Ctrl-C, bugs


def test_up_local_on_a_busy_port_says_so_at_once(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, lines = run(["up", "--local", "--port", str(port), "-c", str(ROOT / "stack.yaml")], capsys)
    assert code == 1
    one_error(lines, f"--port: 127.0.0.1:{port} is in use")


def test_ctrl_c_while_linting_says_nothing_was_sent(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(files: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(app, "lint_templates", interrupted)
    code, lines = run(["build", "-c", str(ROOT / "stack.yaml"), "-o", str(tmp_path / "build")], capsys)
    assert code == 130
    assert lines == ["error: interrupted while compiling and linting the templates: nothing was written or sent"]
    assert not (tmp_path / "build").exists()


@pytest.mark.e2e
def test_ctrl_c_under_up_local_stops_the_local_aws(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(self: object, cfg: object, target: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(local_module.LocalAws, "prepare_for", interrupted)
    port = local_module.free_port()
    code, lines = run(["up", "--local", "--port", str(port), "-c", str(ROOT / "stack.yaml")], capsys)
    assert code == 130
    assert lines[-1] == "error: interrupted while running the local AWS: the local AWS is stopped and what was deployed to it is gone"
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0, "the local AWS is stopped"


def test_a_bug_of_ours_is_one_line_not_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("something we did not foresee\nsecond line")

    monkeypatch.setattr(app, "compile_stack", broken)
    monkeypatch.delenv("STACK_CFN_DEBUG", raising=False)
    code, lines = run(["build", "-c", str(ROOT / "stack.yaml"), "-o", str(tmp_path / "b")], capsys)
    assert code == 70
    one_error(lines, "internal error (RuntimeError: something we did not foresee second line)", "STACK_CFN_DEBUG=1")


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    """The list comes from the parser itself, so a new command cannot be missed."""
    parser = cli.build_parser()
    commands = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction").choices  # noqa: SLF001
    assert {"build", "templates", "schema", "upload", "plan", "deploy", "outputs", "destroy", "stackset", "up"} <= set(commands)
    for name, sub in commands.items():
        text = sub.format_help()
        assert text.startswith(f"usage: stack-cfn {name}") and sub.description, name


@pytest.mark.parametrize("argv,needle", [(["up", "--local", "--port", "70000"], "--port"), (["deploy", "--timeout", "0"], "--timeout"),
                                         (["upload", "--bucket", "Bad_Bucket"], "--bucket"), (["nonsense"], "invalid choice")])
def test_bad_flags_are_one_line(argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(argv)
    err = capsys.readouterr().err.splitlines()
    assert exit_.value.code == 2 and len(err) == 1 and err[0].startswith("error: ") and needle in err[0], err


# ---------------------------------------------------------------- the JSON Schema


def test_the_committed_schema_is_current() -> None:
    assert (ROOT / "stack.schema.json").read_text() == schema_json(), "run make templates (stack-cfn schema)"


def test_the_schema_accepts_the_example_and_rejects_what_the_model_rejects() -> None:
    schema = json.loads(schema_json())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    example = yaml.safe_load((ROOT / "stack.yaml").read_text())
    assert list(validator.iter_errors(example)) == []
    for broken in ({**example, "logs_expiration_dayz": 3}, {**example, "cidr": 16}, {**example, "az_count": 9},
                   {**example, "services": [{"name": "Api", "image": "nginx", "port": 80}]}, {"name": "a"}):
        assert list(validator.iter_errors(broken)), broken


def test_the_example_stack_points_editors_at_the_schema() -> None:
    assert (ROOT / "stack.yaml").read_text().splitlines()[0] == "# yaml-language-server: $schema=./stack.schema.json"


@pytest.mark.parametrize("error,expected", [
    (({"Error": {"Code": "ValidationError", "Message": "No export named app-main-Host found."}, "ResponseMetadata": {"HTTPStatusCode": 400}},
      "ExecuteChangeSet"), "AWS refused ExecuteChangeSet (ValidationError): No export named app-main-Host found."),
    (({"Error": {"Code": "Throttling", "Message": "Rate exceeded"}, "ResponseMetadata": {"HTTPStatusCode": 400}}, "DescribeStacks"),
     "AWS is busy (DescribeStacks: Throttling, after retries); rerun the command"),
])
def test_an_aws_error_no_step_explains_is_one_line_in_our_words(error: tuple[dict, str], expected: str, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore's "An error occurred (X) when calling the Y operation: Z" becomes the call, AWS's code and AWS's words."""
    import botocore.exceptions

    def refused(*args: object, **kwargs: object) -> None:
        raise botocore.exceptions.ClientError(*error)

    monkeypatch.setattr(app, "compile_stack", refused)
    code, lines = run(["build", "-c", str(ROOT / "stack.yaml"), "-o", str(tmp_path / "b")], capsys)
    assert code == 1
    one_error(lines, expected)
