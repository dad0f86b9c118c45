"""`make bench`: compile and lint time for 1, 10 and 100 services, and the largest template.

A benchmark, not a test: it prints numbers against the target (100 services
compiled and linted in under 10 s on a 2-core machine) and fails nothing.
"""

from __future__ import annotations

import json
import os
import tempfile
import time

from stack_cfn.blueprints.compiler import compile_stack
from stack_cfn.model.config import ServiceConfig, StackConfig
from stack_cfn.ship.lint import lint_templates

TARGET_SECONDS = 10.0
KINDS = (
    dict(kind="service"),
    dict(kind="web-service", https=False),
    dict(kind="service", load_balancer="classic"),
    dict(kind="worker"),
)


def services(n: int) -> tuple[ServiceConfig, ...]:
    """n services cycling through the four shapes, each with its own name, image and port."""
    out = []
    for i in range(n):
        shape = KINDS[i % len(KINDS)]
        port = {} if shape["kind"] == "worker" else {"port": 8000 + i}
        out.append(ServiceConfig(name=f"svc{i:03d}", image=f"team/app{i}", **shape, **port))  # type: ignore[arg-type]
    return tuple(out)


def main() -> None:
    from cfnlint.api import lint  # noqa: F401  pay the one-off import before timing

    os.environ["STACK_CFN_CACHE_DIR"] = tempfile.mkdtemp(prefix="stack-cfn-bench-")  # cold: an empty lint cache
    print(f"{'services':>8} {'compile s':>10} {'lint s':>8} {'cached s':>9} {'files':>6} {'largest template':>34}")
    for n in (1, 10, 100):
        cfg = StackConfig(name="bench", environment="prod", services=services(n))
        start = time.perf_counter()
        compiled = compile_stack(cfg)
        compiled_at = time.perf_counter()
        lint_templates(compiled.files)
        linted_at = time.perf_counter()
        lint_templates(compiled.files)  # warm: every template already in the cache
        cached = time.perf_counter() - linted_at
        name, body = max(compiled.files.items(), key=lambda item: len(item[1]))
        resources = len(json.loads(body)["Resources"])
        total = linted_at - start
        print(f"{n:>8} {compiled_at - start:>10.2f} {linted_at - compiled_at:>8.2f} {cached:>9.3f} {len(compiled.files):>6} "
              f"{name:>18} {resources:>4} res {len(body.encode()):>7} B")
        if n == 100:
            verdict = "meets" if total < TARGET_SECONDS else "MISSES"
            print(f"100 services: {total:.2f} s compile + lint, {verdict} the {TARGET_SECONDS:.0f} s target")


if __name__ == "__main__":
    main()
