"""`make bench`: what a build costs, from 1 to 2,000 services, against the targets of issue 12.

A benchmark, not a test. Each build runs `stack-cfn build` in a process of its own, as a user runs it:
- cold: an empty lint cache;
- warm: the same build again (nothing changed: cfn-lint is not even imported);
- edit: after changing one service (its memory, the first service of the root).
Timings are medians over several runs, each in a fresh directory (five for the small descriptions,
whose times are the shortest and noisiest); peak memory is the largest maximum resident set of any
build process. It prints a table, then the example stack's floor (bench/floor.py: the least any
build that lints every template with cfn-lint can take on this machine), and exits 1 when a target
is missed, naming it.
"""

from __future__ import annotations

import compileall
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from stack_cfn.blueprints.compiler import compile_stack
from stack_cfn.model.loading import load_config

ROOT = Path(__file__).resolve().parent.parent
SIZES = (1, 10, 100, 300, 1000, 2000)
RUNS = {None: 5, 1: 5, 10: 5, 100: 3, 300: 3, 1000: 3, 2000: 1}
KINDS = ({"kind": "service"}, {"kind": "web-service", "https": False}, {"kind": "service", "load_balancer": "classic"}, {"kind": "worker"})


@dataclass(frozen=True)
class Target:
    what: str
    services: int | None  # None: the example stack
    measure: str  # compile, cold, warm, edit, memory, operation
    limit: float


TARGETS = (
    Target("example stack, cold build", None, "cold", 1.5),
    Target("example stack, rebuild with nothing changed", None, "warm", 0.4),
    Target("example stack, rebuild after editing one service", None, "edit", 1.5),
    Target("1,000 services, cold build", 1000, "cold", 15.0),
    Target("1,000 services, rebuild after editing one service", 1000, "edit", 2.0),
    Target("1,000 services, peak memory MiB", 1000, "memory", 300.0),
    Target("1,000 services, largest operation (resources)", 1000, "operation", 2500),
    Target("2,000 services, largest operation (resources)", 2000, "operation", 2500),
)


def description(n: int) -> dict:
    """n services cycling through the four shapes, each with its own name, image and port."""
    services = []
    for i in range(n):
        shape = KINDS[i % len(KINDS)]
        port = {} if shape["kind"] == "worker" else {"port": 8000 + i % 50000}
        services.append({"name": f"svc{i:04d}", "image": f"team/app{i}", **shape, **port})
    return {"name": "bench", "environment": "prod", "services": services}


def build(config: Path, out: Path, cache: Path) -> tuple[float, float]:
    """Seconds and peak MiB of one `stack-cfn build` process."""
    env = {**os.environ, "STACK_CFN_CACHE_DIR": str(cache)}
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "stack_cfn.cli", "build", "-c", str(config), "-o", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"bench: the build of {config} failed: {proc.stderr.read().decode() if proc.stderr else ''}")
    return seconds, usage.ru_maxrss / 1024


def edit_one(config: Path) -> None:
    doc = yaml.safe_load(config.read_text())
    first = doc["services"][0]
    first["memory"] = int(first.get("memory", 512)) + 128
    config.write_text(yaml.safe_dump(doc, sort_keys=False))


def measure(n: int | None, work: Path) -> dict[str, float]:
    """Every figure of one description (the example stack when n is None): medians of its runs."""
    runs = [run_once(n, work / f"{i}") for i in range(RUNS[n])]
    row = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
    row["memory"] = max(r["memory"] for r in runs)
    return row


def run_once(n: int | None, work: Path) -> dict[str, float]:
    work.mkdir(parents=True)
    config = work / "stack.yaml"
    config.write_text((ROOT / "stack.yaml").read_text() if n is None else yaml.safe_dump(description(n), sort_keys=False))
    start = time.perf_counter()
    compiled = compile_stack(load_config(config))
    row = {"compile": time.perf_counter() - start}
    cache = work / "cache"
    row["cold"], row["memory"] = build(config, work / "out", cache)
    row["warm"], _ = build(config, work / "out", cache)
    edit_one(config)
    row["edit"], _ = build(config, work / "out", cache)
    row["operation"] = max(compiled.operation_resources().values())
    row["stacks"] = compiled.stack_count
    return row


def floor(config: Path) -> dict[str, float]:
    """The median of three measurements of bench/floor.py, each in a process of its own."""
    runs = []
    for _ in range(3):
        out = subprocess.run([sys.executable, "-m", "bench.floor", str(config)], capture_output=True, text=True, cwd=ROOT, check=False)
        if out.returncode != 0:
            sys.exit(f"bench: measuring the floor failed: {out.stderr}")
        runs.append(json.loads(out.stdout))
    return {key: statistics.median(r[key] for r in runs) for key in runs[0]}


def main() -> int:
    compileall.compile_dir(ROOT / "stack_cfn", quiet=1)  # as pip does when it installs the package: builds start from bytecode
    columns = ("compile", "cold", "warm", "edit", "memory", "stacks", "operation")
    print(f"{'services':>9} {'compile s':>10} {'cold s':>8} {'warm s':>8} {'edit s':>8} {'peak MiB':>9} {'stacks':>7} {'largest op':>11}")
    rows: dict[int | None, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="stack-cfn-bench-") as tmp:
        for i, n in enumerate((None, *SIZES)):
            rows[n] = measure(n, Path(tmp) / f"run{i}")
            figures = " ".join(f"{rows[n][c]:>{w}.{p}f}" for c, w, p in zip(columns, (10, 8, 8, 8, 9, 7, 11), (2, 2, 2, 2, 0, 0, 0), strict=True))
            print(f"{'example' if n is None else n:>9} {figures}", flush=True)
    parts = floor(ROOT / "stack.yaml")
    print(f"\nexample stack, cold build floor on {parts['cores']:.0f} cores: cfn-lint load {parts['load']:.2f} s + "
          f"lint CPU {parts['lint']:.2f} s ({parts['units']:.0f} templates) / {parts['cores']:.0f} = {parts['floor']:.2f} s "
          f"(imports and compile, {parts['imports']:.2f} s, assumed hidden)")
    missed = [t for t in TARGETS if rows[t.services][t.measure] > t.limit]
    print()
    for t in TARGETS:
        verdict = "MISSED" if t in missed else "met"
        print(f"{verdict:>6}: {t.what}: {rows[t.services][t.measure]:.2f} (target <= {t.limit:g})")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
