"""Writing compiled templates: all or nothing.

Everything is written into a temporary directory beside the target, then
swapped in, so a failed build never leaves half a build/ behind.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path


def write_tree(target: Path, files: Mapping[str, str], clean: bool = True) -> None:
    """Replace `target` with exactly `files` (clean) or add/overwrite them in it."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        if not clean and target.exists():
            shutil.copytree(target, staging, dirs_exist_ok=True)
        for rel, text in files.items():
            path = staging / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        old = None
        if target.exists():
            old = target.with_name(f".{target.name}-old-{os.getpid()}")
            os.replace(target, old)
        os.replace(staging, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
