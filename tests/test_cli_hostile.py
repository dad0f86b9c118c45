"""The command line as a hostile user meets it (issue 23): flags, environments, pipes, special files and paths.

Each case runs the real command line in a directory of its own and asserts: the exit status, at most two lines
on stderr (a progress line and the error, or the error alone), no traceback and no "Exception ignored", what the
line says, a time bound (the subprocess timeout: a hang fails the case), and that nothing outside the case's
directory changed (the repository is snapshotted around each case).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, run_cli

GOOD = "name: my-app\nenvironment: prod\nkey_name: my-key\n"
CLI = f"{sys.executable} -m stack_cfn.cli"
LONG_NAME = "a" * 600


@dataclass(frozen=True)
class Case:
    argv: tuple[str, ...] = ()
    codes: tuple[int, ...] = (1,)
    says: str = ""  # in the last line on stderr
    env: dict[str, str | None] = field(default_factory=dict)  # None: unset
    shell: str = ""  # a bash line instead of argv ({cli} is the command line), for pipes and closed streams
    setup: Callable[[Path], None] | None = None
    timeout: float = 60
    stdout_says: str = ""


def fifo(name: str) -> Callable[[Path], None]:
    return lambda case: os.mkfifo(case / name)


def stack_file(text: str) -> Callable[[Path], None]:
    return lambda case: (case / "stack.yaml").write_text(text)


def symlink_loop(case: Path) -> None:
    (case / "loop1").symlink_to("loop2")
    (case / "loop2").symlink_to("loop1")


def aws_profile(case: Path) -> None:
    (case / "aws-config").write_text("[profile far]\nregion = eu-west-1\n")


def unwritable_cache(case: Path) -> None:
    (case / "cache-file").write_text("not a directory\n")


AWS = ("--region", "us-east-1", "--endpoint-url", "http://127.0.0.1:9")  # nothing listens on port 9: never reached in these cases

CASES: dict[str, Case] = {
    # ---- empty values never mean the default (the data loss of issue 23)
    "destroy --yes --stack-name ''": Case(("destroy", "--yes", "--stack-name", "", *AWS), (2,), "argument --stack-name: is empty"),
    "outputs --stack-name blank": Case(("outputs", "--stack-name", "   ", *AWS), (2,), "argument --stack-name: is empty"),
    "-c ''": Case(("build", "-c", ""), (2,), "argument -c/--config: is empty"),
    "-o ''": Case(("build", "-o", ""), (2,), "argument -o/--output: is empty"),
    "--endpoint-url ''": Case(("outputs", "--stack-name", "x", "--endpoint-url", ""), (2,), "argument --endpoint-url: is empty"),
    "--profile ''": Case(("outputs", "--stack-name", "x", "--profile", ""), (2,), "argument --profile: is empty"),
    "--region ''": Case(("outputs", "--stack-name", "x", "--region", ""), (2,), "argument --region: is empty"),
    "--prefix ''": Case(("upload", "--prefix", "", *AWS), (2,), "argument --prefix: is empty"),
    "--stack-set-name ''": Case(("stackset", "--regions", "us-east-1", "--stack-set-name", ""), (2,), "argument --stack-set-name: is empty"),
    "release ''": Case(("release", ""), (2,), "argument SERVICE=VERSION: is empty"),
    "--version ''": Case(("release", "api", "--version", ""), (2,), "argument --version: is empty"),
    # ---- duplicates: refused, never last-wins
    "--stack-name twice": Case(("destroy", "--stack-name", "a", "--stack-name", "b"), (2,), "is given twice"),
    "--yes twice": Case(("destroy", "--yes", "--yes", "--stack-name", "a"), (2,), "is given twice"),
    "--image twice for one service": Case(("release", "api=1", "--image", "api=a/b", "--image", "api=c/d"), (2,), "'api' is given twice"),
    "--region-cidr twice for one region": Case(("stackset", "--regions", "us-east-1", "--region-cidr", "us-east-1=10.40.0.0/16",
                                                "--region-cidr", "us-east-1=10.41.0.0/16"), (2,), "'us-east-1' is given twice"),
    "abbreviated flag": Case(("destroy", "--stack", "a"), (2,), "unrecognized arguments"),
    # ---- typed values
    "--image nginx=": Case(("release", "api=1", "--image", "nginx="), (2,), "has nothing after '='"),
    "--image =nginx": Case(("release", "api=1", "--image", "=nginx"), (2,), "has nothing before '='"),
    "--accounts 123": Case(("stackset", "--regions", "us-east-1", "--accounts", "123"), (2,), "'123' is not an AWS account id"),
    "--accounts letters": Case(("stackset", "--regions", "us-east-1", "--accounts", "abcdefghijkl"), (2,), "12 digits"),
    "--accounts twice in the list": Case(("stackset", "--regions", "us-east-1", "--accounts", "111111111111,111111111111"), (2,), "listed twice"),
    "--regions mixing partitions": Case(("stackset", "--regions", "us-east-1,cn-north-1"), (2,), "mixes partitions"),
    "--regions with an empty item": Case(("stackset", "--regions", "us-east-1,,eu-west-1"), (2,), "has an empty item"),
    "--regions ','": Case(("stackset", "--regions", ","), (2,), "has an empty item"),
    "--region-cidr not a CIDR": Case(("stackset", "--regions", "us-east-1", "--region-cidr", "us-east-1=10.0.0.0/33"), (2,), "not an IPv4 CIDR"),
    "--region-cidr without =": Case(("stackset", "--regions", "us-east-1", "--region-cidr", "10.0.0.0/16"), (2,), "is not REGION=CIDR"),
    "--port 0": Case(("up", "--local", "--port", "0"), (2,), "a port from 1 to 65535"),
    "--port fullwidth digits": Case(("up", "--local", "--port", "５０００"), (2,), "a port from 1 to 65535"),
    "--timeout 1e3": Case(("deploy", "--timeout", "1e3"), (2,), "minutes from 1 to 1440"),
    "--max-concurrent 0": Case(("stackset", "--regions", "us-east-1", "--max-concurrent", "0"), (2,), "1 or more"),
    "--failure-tolerance -1": Case(("stackset", "--regions", "us-east-1", "--failure-tolerance", "-1"), (2,), "0 or more"),
    "--stack-name not a stack name": Case(("outputs", "--stack-name", "1-bad_name"), (2,), "is not a CloudFormation stack name"),
    "--stack-name of 600 characters": Case(("outputs", "--stack-name", LONG_NAME), (2,), "is 600 characters long, over the 128 allowed"),
    "--administration-role-arn not an ARN": Case(("stackset", "--regions", "us-east-1", "--administration-role-arn", "admin"), (2,), "IAM role ARN"),
    "--ami not an AMI": Case(("roll", "--ami", "ubuntu"), (2,), "is not an AMI id"),
    "--port without --local": Case(("up", "--port", "5000"), (1,), "--port: only goes with --local"),
    "--keep without --local": Case(("up", "--keep"), (1,), "--keep: only goes with --local"),
    # ---- regions: one decision
    "up --local --region xx-fake-9": Case(("up", "--local", "--region", "xx-fake-9"), (2,), "'xx-fake-9' is not an AWS region"),
    "AWS_REGION not a region": Case(("outputs", "--stack-name", "x", "--endpoint-url", "http://127.0.0.1:9"), (1,),
                                    "AWS_REGION: 'xx-fake-9' is not an AWS region", env={"AWS_REGION": "xx-fake-9"}),
    "stack file region vs environment": Case(("outputs", "--endpoint-url", "http://127.0.0.1:9"), (1,),
                                             "the stack file's region: says eu-west-1 but AWS_DEFAULT_REGION says us-east-1",
                                             env={"AWS_DEFAULT_REGION": "us-east-1"}, setup=stack_file(GOOD + "region: eu-west-1\n")),
    "stack file region vs --region": Case(("outputs", "--region", "us-east-1", "--endpoint-url", "http://127.0.0.1:9"), (1,),
                                          "says eu-west-1 but --region says us-east-1", setup=stack_file(GOOD + "region: eu-west-1\n")),
    "--region vs AWS_REGION": Case(("outputs", "--stack-name", "x", "--region", "us-west-2", "--endpoint-url", "http://127.0.0.1:9"), (1,),
                                   "--region says us-west-2 but AWS_REGION says us-east-1", env={"AWS_REGION": "us-east-1"}),
    "a profile's region vs --region": Case(("outputs", "--stack-name", "x", "--profile", "far", "--region", "us-east-1", "--endpoint-url",
                                            "http://127.0.0.1:9"), (1,), "--region says us-east-1 but profile far says eu-west-1",
                                           env={"AWS_CONFIG_FILE": "{case}/aws-config"}, setup=aws_profile),
    "a profile that does not exist": Case(("outputs", "--stack-name", "x", "--profile", "nowhere", "--endpoint-url", "http://127.0.0.1:9"), (1,),
                                          "profile 'nowhere' is not configured"),
    "zones of another region": Case(("outputs", "--endpoint-url", "http://127.0.0.1:9"), (1,),
                                    "availability_zones: us-west-2a is not a zone of region us-east-1 (the region used, us-east-1, comes from AWS_REGION)",
                                    env={"AWS_REGION": "us-east-1"}, setup=stack_file(GOOD + "availability_zones: [us-west-2a, us-west-2b]\n")),
    # ---- destructive commands without a terminal
    "destroy without a terminal": Case(("destroy", *AWS), (1,), "destroying stack my-app-prod (named by <name>-<environment> of stack.yaml) "
                                                                "needs confirmation: run it in a terminal, or pass --yes"),
    "destroy with stdin closed": Case(shell="{cli} destroy --stack-name x <&-", says="needs confirmation: run it in a terminal, or pass --yes"),
    # ---- standard streams
    "--help | true": Case(shell="{cli} --help | true; exit ${{PIPESTATUS[0]}}", codes=(0, 141)),
    "diagram | head -c 1": Case(shell="{cli} diagram | head -c 1 >/dev/null; exit ${{PIPESTATUS[0]}}", codes=(0, 141)),
    "diagram with stdout closed": Case(shell="{cli} diagram >&-", says="standard output cannot be written"),
    "diagram > /dev/full": Case(shell="{cli} diagram >/dev/full", says="standard output cannot be written (No space left on device)"),
    "error with stdout closed": Case(shell="{cli} build -c missing.yaml >&-", says="missing.yaml: cannot be read"),
    "PYTHONIOENCODING=ascii": Case(("build", "-o", "build"), (0,), env={"PYTHONIOENCODING": "ascii"}, stdout_says="OK wrote"),
    "COLUMNS=0": Case(("build", "-c", "missing.yaml"), (1,), "missing.yaml: cannot be read (No such file or directory); check the path",
                      env={"COLUMNS": "0"}),
    "COLUMNS=5 and a 600-character name": Case(("release", f"{LONG_NAME}=1"), (1,), f"{'a' * 40}...(600 characters): is not a service",
                                               env={"COLUMNS": "5"}),
    "COLUMNS=5 while working": Case(("build", "-o", "build"), (0,), "linting templates with cfn-lint ...", env={"COLUMNS": "5"}),
    "NO_COLOR and TERM=dumb": Case(("build", "-c", "missing.yaml"), (1,), "error: missing.yaml", env={"NO_COLOR": "1", "TERM": "dumb"}),
    # ---- nothing blocks: special files, output files never read first
    "stack file is a FIFO": Case(("build", "-c", "fifo.yaml"), (1,), "fifo.yaml: is a FIFO (named pipe), not a regular file", setup=fifo("fifo.yaml")),
    "releases file is a FIFO": Case(("build",), (1,), "stack.releases.yaml: is a FIFO (named pipe), not a regular file",
                                    setup=fifo("stack.releases.yaml")),
    "placement file is a FIFO": Case(("build",), (1,), "stack.placement.yaml: is a FIFO (named pipe), not a regular file",
                                     setup=fifo("stack.placement.yaml")),
    "stack file is a device": Case(("build", "-c", "/dev/zero"), (1,), "/dev/zero: is a character device"),
    "diagram -o >(cat)": Case(shell="{cli} diagram -o >(cat >/dev/null)", codes=(0,)),
    "diagram -o /dev/stdout > file": Case(shell="{cli} diagram -o /dev/stdout > out.md && grep -q mermaid out.md && test -L /dev/stdout", codes=(0,)),
    "diagram -o a FIFO nobody reads": Case(("diagram", "-o", "out.md"), (1,), "out.md: is a FIFO that nobody reads", setup=fifo("out.md")),
    "schema -o a FIFO": Case(("schema", "-o", "out.json"), (1,), "out.json: is a FIFO (named pipe), not a regular file", setup=fifo("out.json")),
    # ---- paths
    "-c too long": Case(("build", "-c", "x" * 5000), (1,), "...(5000 characters): cannot be read (File name too long)"),
    "-c a symlink loop": Case(("build", "-c", "loop1"), (1,), "loop1: cannot be read (Too many levels of symbolic links)", setup=symlink_loop),
    "-o a symlink loop": Case(("build", "-o", "loop1"), (1,), "loop1: cannot be used (a symbolic link loop)", setup=symlink_loop),
    "-o under a file": Case(("build", "-o", "stack.yaml/build"), (1,), "stack.yaml/build: cannot be written (Not a directory)"),
    "-o too long": Case(("build", "-o", "x" * 5000), (1,), "File name too long"),
    "docs -o onto the stack file": Case(("docs", "-o", "stack.yaml"), (1,), "stack.yaml: exists and was not written by stack-cfn"),
    "docs --reference onto a file": Case(("docs", "--reference", "stack.yaml"), (1,), "stack.yaml: is a file, not a directory"),
    "docs --reference into /proc": Case(("docs", "--reference", "/proc/stack-cfn-docs"), (1,), "/proc/stack-cfn-docs: cannot be made"),
    "docs -o into /proc": Case(("docs", "-o", "/proc/stack-cfn-docs.md"), (1,), "/proc/stack-cfn-docs.md: cannot be written"),
    "diagram -o into /proc": Case(("diagram", "-o", "/proc/self/stack-cfn.md"), (1,), "/proc/self/stack-cfn.md: cannot be written"),
    "HOME unset": Case(("build", "-o", "build"), (0,), "note: HOME is not set: the lint cache is",
                       env={"HOME": None, "STACK_CFN_CACHE_DIR": None, "XDG_CACHE_HOME": None}),
    "cache directory unwritable": Case(("build", "-o", "build"), (0,), "cache-file/lint cannot be written: the lint cache is",
                                       env={"STACK_CFN_CACHE_DIR": "{case}/cache-file"}, setup=unwritable_cache),
    # ---- AWS that does not answer
    "no endpoint and AWS unreachable": Case(("outputs", "--stack-name", "x", "--region", "us-east-1"), (1,),
                                            "nothing answers at AWS (us-east-1)", env={"HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": None,
                                                                                      "NO_PROXY": None, "no_proxy": None}),
}


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """The repository's files (not the virtualenvs and caches), by size and modification time."""
    skip = {".git", ".venv", ".venv-checkov", "__pycache__", ".pytest_cache", ".ruff_cache", ".hypothesis", "build", "stack_cfn.egg-info"}  # caches other tests write
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in skip]
        for name in filenames:
            path = os.path.join(dirpath, name)
            with_stat = os.lstat(path)
            found[os.path.relpath(path, root)] = (with_stat.st_size, with_stat.st_mtime_ns)
    return found


def environment(case_dir: Path, extra: dict[str, str | None]) -> dict[str, str]:
    home = case_dir / "home"
    home.mkdir()
    (case_dir / "tmp").mkdir()
    env = {**os.environ, "HOME": str(home), "TMPDIR": str(case_dir / "tmp"), "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_CONFIG_FILE": str(case_dir / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(case_dir / "none"), "AWS_EC2_METADATA_DISABLED": "true",
           "PYTHONPATH": str(ROOT)}
    for key in ("AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "COLUMNS", "NO_COLOR", "STACK_CFN_DEBUG"):
        env.pop(key, None)
    for key, value in extra.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value.format(case=case_dir)
    return env


def run_case(case: Case, case_dir: Path) -> subprocess.CompletedProcess[str]:
    (case_dir / "stack.yaml").write_text(GOOD)
    if case.setup:
        case.setup(case_dir)
    env = environment(case_dir, case.env)
    command = ["bash", "-c", case.shell.format(cli=CLI)] if case.shell else [sys.executable, "-m", "stack_cfn.cli", *case.argv]
    return subprocess.run(command, capture_output=True, text=True, cwd=case_dir, env=env, timeout=case.timeout, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_hostile_command_line(case: Case, tmp_path: Path) -> None:
    before = snapshot(ROOT)
    result = run_case(case, tmp_path)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode in case.codes, result.stderr
    assert len(lines) <= 2, result.stderr
    assert "Traceback" not in result.stderr and "Exception ignored" not in result.stderr, result.stderr
    if case.says:
        assert lines and case.says in lines[-1], result.stderr
    if case.codes != (0,) and case.says:
        assert lines[-1].startswith("error: ") and len(lines[-1]) < 400, lines[-1]
        assert "\x1b" not in lines[-1], "no colour without a terminal"
    if case.stdout_says:
        assert case.stdout_says in result.stdout
    assert snapshot(ROOT) == before, "nothing outside the case's directory changed"


# ---------------------------------------------------------------- endpoints and ports that hold on


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """A server that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_an_endpoint_that_never_answers_is_one_line_within_30_seconds(silent_endpoint: str, tmp_path: Path) -> None:
    """Every AWS call has connect and read timeouts (aws.PATIENCE); the first call gives up within 30 s: no 241 s of silence."""
    case = Case(("outputs", "--stack-name", "x", "--region", "us-east-1", "--endpoint-url", silent_endpoint), (1,), timeout=30)
    result = run_case(case, tmp_path)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 1 and len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: --endpoint-url: {silent_endpoint} did not answer within"), lines


def test_up_local_on_a_busy_port_says_so_before_any_progress(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_case(Case(("up", "--local", "--port", str(port))), tmp_path)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [f"error: --port: 127.0.0.1:{port} is in use (Address already in use); choose another port or leave --port out"]


# ---------------------------------------------------------------- against the local AWS


@pytest.mark.e2e
def test_destroy_with_an_empty_stack_name_refuses_and_the_stack_stays(local_aws, tmp_path: Path) -> None:  # noqa: ANN001
    """The data loss of issue 23: `destroy --yes --stack-name ''` deleted the stack the stack file names."""
    from stack_cfn.ship import deploy
    from stack_cfn.ship.local import local_ubuntu_ami

    local, target = local_aws
    config = tmp_path / "stack.yaml"
    config.write_text(yaml.safe_dump({"name": "keepme", "environment": "test", "key_name": "keep-key", "region": "us-east-1",
                                      "cidr": "10.77.0.0/16", "bastion_ami": local_ubuntu_ami(target)}))
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_PROFILE": "", "AWS_ENDPOINT_URL": "", "AWS_REGION": "",
           "AWS_DEFAULT_REGION": ""}
    at = ("--endpoint-url", local.endpoint_url, "--region", "us-east-1")
    deployed = run_cli("deploy", "-c", str(config), *at, "--bucket", "keep-templates", "--create-bucket", env=env, cwd=tmp_path)
    assert deployed.returncode == 0, deployed.stderr
    cfn = target.client("cloudformation")
    assert deploy.stack_status(cfn, "keepme-test") == "CREATE_COMPLETE"
    for name in ("", " "):
        refused = run_cli("destroy", "--yes", "-c", str(config), "--stack-name", name, *at, env=env, cwd=tmp_path)
        assert refused.returncode == 2, refused.stderr
        assert refused.stderr.splitlines() == ["error: argument --stack-name: is empty; give a value, or leave the flag out for its default; "
                                               "see stack-cfn destroy --help"]
    no_terminal = run_cli("destroy", "-c", str(config), *at, env=env, cwd=tmp_path, input_="keepme-test\n")
    assert no_terminal.returncode == 1 and "pass --yes" in no_terminal.stderr, no_terminal.stderr
    assert deploy.stack_status(cfn, "keepme-test") == "CREATE_COMPLETE", "the stack is still there"
