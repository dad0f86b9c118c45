"""Reading the files beside a stack file (the stack file, its releases and placement files) without waiting forever.

A FIFO with no writer, a terminal or another device would block a plain open() or read() without a bound:
each path is refused before it is opened unless it is a regular file (directories and special files get one
line naming the path), and it is opened non-blocking and checked again after opening (a file swapped in
between is refused too). Reads stop one byte past the limit, so the caller can say "too large".
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from stack_cfn.errors import ConfigError

KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
         (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def special_kind(mode: int) -> str | None:
    """What a file that is not a regular file is, for a message; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    return next((name for test, name in KINDS if test(mode)), "not a regular file")


def read_bounded(path: str | Path, limit: int, fix: str = "give the path of a YAML text file") -> bytes:
    """At most limit + 1 bytes of a regular file. FileNotFoundError passes through (a missing file may be fine);
    other OS errors (too long, a symlink loop, a path under a file, no permission) are raised as they are."""
    kind = special_kind(os.stat(path).st_mode)
    if kind:
        raise ConfigError(str(path), f"is {kind}, not a regular file", fix)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        kind = special_kind(os.fstat(fd).st_mode)
        if kind:
            raise ConfigError(str(path), f"is {kind}, not a regular file", fix)
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def os_problem(exc: OSError) -> str:
    """An OS error as a message says it: 'cannot be read (File name too long)'."""
    return f"cannot be read ({exc.strerror or type(exc).__name__})"


SIDE_FILE_BYTES = 1024 * 1024  # a releases or placement file: small YAML written by stack-cfn


def read_side_file(path: str | Path, fix: str) -> str:
    """A file stack-cfn writes beside the stack file, read the same bounded way: UTF-8 text of at most SIDE_FILE_BYTES."""
    raw = read_bounded(path, SIDE_FILE_BYTES, fix)
    if len(raw) > SIDE_FILE_BYTES:
        raise ConfigError(str(path), f"is larger than {SIDE_FILE_BYTES // 1024} KiB", fix)
    return raw.decode("utf-8")
