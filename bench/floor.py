"""The least a cold build of one description can take here, whatever the build does around cfn-lint.

`python -m bench.floor stack.yaml` prints, as JSON, what one process measures of its parts:
- imports: the interpreter's imports of stack-cfn, troposphere and awacs, and the compile;
- load: importing cfn-lint and loading its rules (once per build);
- lint: the CPU of linting every distinct unit of the build (as `stack-cfn build` would, slices
  included), one after another in this process, with the rules already loaded;
- floor: load + lint / cores, a lower bound for any build that lints every template with cfn-lint:
  it assumes the imports and compile hidden under the load, and the lint spread perfectly over
  the cores with nothing paid for starting workers.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path


def parts(config: Path) -> dict[str, float]:
    start = time.perf_counter()
    from stack_cfn.blueprints.compiler import compile_stack
    from stack_cfn.model.loading import load_config
    from stack_cfn.ship import lint

    compiled = compile_stack(load_config(config))
    units = sorted({unit for body in compiled.files.values() for unit in lint.lint_units(body)})
    imported = time.perf_counter()
    lint.load_rules()
    loaded = time.perf_counter()
    cpu = time.process_time()
    for unit in units:
        lint.unit_findings(unit)
    linting = time.process_time() - cpu
    cores = os.cpu_count() or 1
    load = loaded - imported
    return {"imports": imported - start, "load": load, "lint": linting, "units": len(units), "cores": cores,
            "floor": load + linting / cores}


if __name__ == "__main__":
    print(json.dumps(parts(Path(sys.argv[1]))))
