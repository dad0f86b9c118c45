"""Writing compiled templates into a directory stack-cfn owns, and nothing else.

An output directory is new, empty, or holds only what an earlier run wrote
(listed in its manifest, `.stack-cfn-files`). Anything else there (the
stack description, a README, a repository) makes the write refuse, with one
line, before a byte is written. Each file is written beside its final name
and renamed into place; files of the earlier run that this one does not
write are removed; the directory itself (and its mode) stays.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from stack_cfn.errors import StackCfnError
from stack_cfn.model.reading import special_kind

MANIFEST = ".stack-cfn-files"


class OutputError(StackCfnError):
    """An output directory stack-cfn may not write into."""

    def __init__(self, target: Path, problem: str, fix: str) -> None:
        super().__init__(f"{target}: {problem}; {fix}")


def owned_files(target: Path) -> set[str]:
    """What an earlier run wrote into `target`, by its manifest."""
    try:
        text = (target / MANIFEST).read_text(encoding="utf-8")
    except FileNotFoundError:
        return set()
    except (OSError, UnicodeDecodeError) as exc:
        raise OutputError(target, f"its {MANIFEST} cannot be read ({exc})", "remove the directory and build again") from None
    return {line for line in text.splitlines() if line and "/" not in line and not line.startswith(".")}


def check_target(target: Path, protect: Iterable[Path] = ()) -> set[str]:
    """Refuse a target that is a file, holds a protected path, or holds what stack-cfn did not write."""
    if target.exists() and not target.is_dir():
        raise OutputError(target, "is a file, not a directory", "choose a directory for the templates, such as build")
    resolved = target.resolve()
    for path in protect:
        p = Path(path).resolve()
        if p == resolved or resolved in p.parents:
            raise OutputError(target, f"holds {path}", "choose a directory of its own for the templates, such as build")
    if not target.exists():
        return set()
    owned = owned_files(target)
    try:
        entries = sorted(e.name for e in os.scandir(target))
    except OSError as exc:
        raise OutputError(target, f"cannot be listed ({exc.strerror})", "check its permissions") from None
    if ".git" in entries:
        raise OutputError(target, "is a git repository", "choose a directory of its own for the templates, such as build")
    foreign = [e for e in entries if e != MANIFEST and e not in owned]
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise OutputError(target, f"holds files stack-cfn did not write ({shown})", "choose an empty or new directory, or remove them")
    return owned


def write_tree(target: Path, files: Mapping[str, str], protect: Iterable[Path] = ()) -> None:
    """Write exactly `files` into `target`; remove what an earlier run wrote and this one does not."""
    target = Path(target)
    try:
        owned = check_target(target, protect)
    except RuntimeError:  # Path.resolve() on a symlink loop (Python 3.11)
        raise OutputError(target, "cannot be used (a symbolic link loop)", "check the path") from None
    except OSError as exc:  # a name too long, a path under a file, no permission
        raise OutputError(target, f"cannot be used ({exc.strerror or exc})", "check the path and its permissions") from None
    try:
        target.mkdir(parents=True, exist_ok=True)
        for name, text in sorted(files.items()):
            _write_atomic(target / name, text)
        for stale in sorted(owned - set(files)):
            (target / stale).unlink(missing_ok=True)
        _write_atomic(target / MANIFEST, "".join(f"{name}\n" for name in sorted(files)))
    except OSError as exc:
        raise OutputError(target, f"cannot be written ({exc.strerror or exc})", "check the path and its permissions") from None


def write_generated(path: Path, text: str, marker: str, stream_ok: bool = False) -> None:
    """Write one generated file; an existing file is replaced only when it carries `marker` (we wrote it).

    Something that is not a regular file is never read: a FIFO or a character device (`-o >(...)`, /dev/stdout) is
    written straight through when `stream_ok` (a FIFO without a reader is refused, never waited on), refused otherwise."""
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise OutputError(path, f"cannot be used ({exc.strerror or exc})", "check the path") from None
    if mode is not None and stat.S_ISDIR(mode):
        raise OutputError(path, "is a directory", "give a file name, such as stack.schema.json")
    if mode is not None and not stat.S_ISREG(mode):
        if stream_ok and (stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)):
            _write_stream(path, text)
            return
        raise OutputError(path, f"is {special_kind(mode)}, not a regular file", "give the name of a file to write")
    if path.is_symlink():  # a link to a regular file (or to nothing yet): replace what it points at, never the link (/dev/stdout)
        path = Path(os.path.realpath(path))
    if mode is not None:
        try:
            with open(path, "rb") as f:  # a regular file: reading its head cannot block
                ours = marker in f.read(4096).decode("utf-8", errors="replace")
        except OSError as exc:
            raise OutputError(path, f"cannot be read ({exc.strerror})", "check the path") from None
        if not ours and os.stat(path).st_size:  # an empty file (`> out.md`) holds nothing to lose
            raise OutputError(path, "exists and was not written by stack-cfn", "choose another file name or remove it")
    try:
        _write_atomic(path, text)
    except OSError as exc:
        raise OutputError(path, f"cannot be written ({exc.strerror or exc})", "check the path and its permissions") from None


def _write_stream(path: Path, text: str) -> None:
    """Write into a pipe or device as it is (no temporary file beside it, nothing read first)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            raise OutputError(path, "is a FIFO that nobody reads", "start its reader first, or give a file name") from None
        raise OutputError(path, f"cannot be written ({exc.strerror or exc})", "check the path and its permissions") from None
    try:
        os.set_blocking(fd, True)  # a reader is there: let it take the text at its pace
        data = text.encode("utf-8")
        while data:
            data = data[os.write(fd, data):]
    except OSError as exc:
        raise OutputError(path, f"cannot be written ({exc.strerror or exc})", "check the path") from None
    finally:
        os.close(fd)


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        os.chmod(tmp, 0o644 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
