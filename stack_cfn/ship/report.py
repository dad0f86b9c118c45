"""What the command line prints: progress, plans, events, outputs. One place for the terminal."""

from __future__ import annotations

import contextlib
import errno
import io
import os
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol, TextIO

from rich.console import Console
from rich.markup import escape
from rich.table import Table

ACTION_STYLE = {"Add": ("+", "green"), "Modify": ("~", "yellow"), "Remove": ("-", "red"), "Import": ("<", "cyan"), "Dynamic": ("?", "magenta")}


def is_database(change: Mapping[str, Any]) -> bool:
    """A database, or the nested stack that holds one (its logical id is <Name>Database)."""
    kind, logical = change.get("ResourceType", ""), change.get("LogicalResourceId", "")
    return kind in ("AWS::RDS::DBInstance", "AWS::RDS::DBCluster") or (kind == "AWS::CloudFormation::Stack" and logical.endswith("Database"))


# ---------------------------------------------------------------- the process's streams, as a Unix tool treats them

LONG_WORD = 160  # a run of characters without a space longer than this is cut in an error (a 600-character name)
MIN_WIDTH = 20


class GuardedStream(io.TextIOBase):
    """A standard stream whose reader may be gone (`| head`, `>&-`, /dev/full): a failed write is remembered, not raised,
    and what follows is dropped, so a command finishes (or fails) on its own terms and the exit says what became of
    the output. Symbols the stream's encoding lacks are replaced, never a crash."""

    def __init__(self, inner: TextIO, closed: bool = False) -> None:
        self.inner = inner
        self.failure: OSError | None = OSError(errno.EBADF, "the stream was closed") if closed else None
        self.closed_at_start = closed
        self.written_while_closed = False
        with contextlib.suppress(AttributeError, ValueError, OSError):
            inner.reconfigure(errors="replace")  # type: ignore[attr-defined]  # TextIO lacks it; TextIOWrapper has it (suppressed when absent)

    def write(self, text: str) -> int:
        if self.closed_at_start and text:
            self.written_while_closed = True
        if self.failure is None:
            try:
                self.inner.write(text)
            except (OSError, ValueError) as exc:
                self._failed(exc)
        return len(text)

    def flush(self) -> None:
        if self.failure is None:
            try:
                self.inner.flush()
            except (OSError, ValueError) as exc:
                self._failed(exc)

    def _failed(self, exc: Exception) -> None:
        self.failure = exc if isinstance(exc, OSError) else OSError(9, "Bad file descriptor")
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self.inner.fileno())  # the interpreter's own last flush finds nothing to write
            os.close(devnull)

    def isatty(self) -> bool:
        try:
            return self.inner.isatty()
        except (OSError, ValueError):
            return False

    def fileno(self) -> int:
        return self.inner.fileno()

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str:  # type: ignore[override]  # a property over TextIOBase's attribute: the inner stream's
        return getattr(self.inner, "encoding", None) or "utf-8"

    @property
    def errors(self) -> str:  # type: ignore[override]  # a property over TextIOBase's attribute: always "replace"
        return "replace"


def guard_streams() -> None:
    """Standard streams that are closed (`<&-`, `>&-`) become /dev/null (taking their descriptors, so no file we open
    lands on fd 1); stdout and stderr are guarded. Called once by the console script."""
    closed = set()
    for name, fd, mode in (("stdin", 0, "r"), ("stdout", 1, "w"), ("stderr", 2, "w")):
        if getattr(sys, name) is None:
            closed.add(name)
            stream = open(os.devnull, mode, encoding="utf-8")  # noqa: SIM115  lives for the process
            if stream.fileno() != fd:
                with contextlib.suppress(OSError):
                    os.dup2(stream.fileno(), fd)
            setattr(sys, name, stream)
    for name in ("stdout", "stderr"):
        if not isinstance(getattr(sys, name), GuardedStream):
            setattr(sys, name, GuardedStream(getattr(sys, name), closed=name in closed))


def stream_failure(stream: Any) -> OSError | None:
    """How writing the stream failed, if it did (a stream closed at start fails only once something was written to it)."""
    if not isinstance(stream, GuardedStream):
        return None
    if stream.closed_at_start:
        return stream.failure if stream.written_while_closed else None
    return stream.failure


def colour_allowed(stream: Any) -> bool:
    """Colour only on a terminal that is not dumb, and never with NO_COLOR set (https://no-color.org)."""
    return "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb" and bool(getattr(stream, "isatty", lambda: False)())


def cut_long_words(text: str) -> str:
    """A value of hundreds of characters is shown by its start and its length."""
    return re.sub(rf"[^\s:;,]{{{LONG_WORD + 1},}}", lambda m: f"{m[0][:LONG_WORD - 40]}...({len(m[0])} characters)", text)


def write_error(message: str) -> None:
    """`error: ...` on stderr, as written: never wrapped (whatever COLUMNS says), coloured only where colour is wanted."""
    label = "\x1b[31merror:\x1b[0m" if colour_allowed(sys.stderr) else "error:"
    try:
        sys.stderr.write(f"{label} {cut_long_words(message)}\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass  # stderr is gone too: the exit status is all that is left


def symbol(mark: str, fallback: str, stream: Any) -> str:
    """A symbol where the stream's encoding has it (PYTHONIOENCODING=ascii has no check mark)."""
    try:
        mark.encode(getattr(stream, "encoding", None) or "utf-8")
    except (UnicodeEncodeError, LookupError):
        return fallback
    return mark


def console_width() -> int | None:
    """COLUMNS as given, but never so narrow that nothing fits (COLUMNS=0 printed nothing at all); None: rich decides."""
    columns = os.environ.get("COLUMNS")
    if columns is None:
        return None
    return max(int(columns), MIN_WIDTH) if columns.strip().isdigit() else None


def _console(stderr: bool) -> Console:
    # No emoji codes: ":secret:" in an ARN must print as written. NO_COLOR and TERM=dumb are rich's own rules too.
    width = console_width()
    # stderr carries progress and messages, one line each whatever the width: never wrapped.
    console = Console(stderr=stderr, highlight=False, emoji=False, width=width, soft_wrap=stderr)
    if not colour_allowed(sys.stderr if stderr else sys.stdout):
        console.no_color = True
    return console


class Progress(Protocol):
    """What a use case may say while it works (stack_cfn/usecases): steps (what a Ctrl-C then means), status lines,
    notes, change sets and the events of stacks it follows. Its result is the CLI's to render; Reporter is the terminal's."""

    def step(self, doing: str, if_interrupted: str) -> contextlib.AbstractContextManager[None]: ...

    def status(self, message: str) -> contextlib.AbstractContextManager[None]: ...

    def info(self, message: str) -> None: ...

    def plan(self, cs: Any) -> None: ...

    def follow_many(self, run: Callable[[Callable[[dict[str, Any]], None]], dict[str, str]], what: str, timeout_minutes: int = 60) -> dict[str, str]: ...


class Reporter:
    def __init__(self) -> None:
        self.out = _console(stderr=False)
        self.err = _console(stderr=True)
        self._steps: list[tuple[str, str]] = []
        self.at_interrupt: list[tuple[str, str]] = []

    def machine_output(self) -> None:
        """--json: standard output carries only the JSON; tables and progress for people go to standard error."""
        self.out = self.err

    @contextlib.contextmanager
    def step(self, doing: str, if_interrupted: str) -> Iterator[None]:
        """Say, should Ctrl-C come now, what was going on and what it means (see interrupted())."""
        self._steps.append((doing, if_interrupted))
        try:
            yield
        except KeyboardInterrupt:
            if not self.at_interrupt:
                self.at_interrupt = list(self._steps)  # innermost first to see it
            raise
        finally:
            self._steps.pop()

    def interrupted(self) -> str:
        """The one line for Ctrl-C: the innermost step, then what each outer step adds."""
        steps = self.at_interrupt
        if not steps:
            return "interrupted before anything was written or sent"
        doing, consequence = steps[-1]
        outer = [c for _, c in reversed(steps[:-1])]
        return f"interrupted while {doing}: " + "; ".join([consequence, *outer])

    @contextlib.contextmanager
    def status(self, message: str) -> Iterator[None]:
        if self.err.is_terminal and not self.err.is_dumb_terminal:
            with self.err.status(message):
                yield
        else:
            self.err.print(f"{message} ...")
            yield

    def info(self, message: str) -> None:
        self.err.print(message, markup=False, soft_wrap=True)

    def done(self, message: str) -> None:
        self.out.print(f"[green]{symbol('✓', 'OK', self.out.file)}[/green] {escape(message)}", soft_wrap=True)

    def error(self, message: str) -> None:
        write_error(message)

    def plan(self, cs: Any) -> None:
        if cs.empty:
            self.out.print(f"no changes: stack {cs.stack_name} is up to date")
            return
        counts = {"Add": 0, "Modify": 0, "Remove": 0}
        replacements = []
        table = Table(title=f"{cs.kind.lower()} {cs.stack_name}", show_lines=False)
        for col in ("", "resource", "type", "replacement"):
            table.add_column(col)
        for change in cs.changes:
            action = change.get("Action", "?")
            counts[action] = counts.get(action, 0) + 1
            mark, style = ACTION_STYLE.get(action, ("?", "white"))
            replace = change.get("Replacement", "")
            flag = ""
            if replace in ("True", "Conditional"):
                replacements.append(change["LogicalResourceId"])
                flag = "[bold red]REPLACE[/bold red]" if replace == "True" else "[bold red]MAY REPLACE[/bold red]"
            table.add_row(f"[{style}]{mark}[/{style}]", change.get("LogicalResourceId", "?"), change.get("ResourceType", "?"), flag)
        self.out.print(table)
        self.out.print(f"Plan: {counts['Add']} to add, {counts['Modify']} to change, {counts['Remove']} to remove.")
        snapshots = [c["LogicalResourceId"] for c in cs.changes if c.get("Action") == "Remove" and is_database(c)]
        if snapshots:
            self.out.print(f"[bold yellow]!! removing {', '.join(snapshots)}: each keeps a final snapshot (DeletionPolicy Snapshot); "
                           "delete the snapshots by hand (aws rds describe-db-snapshots) when they are no longer needed[/bold yellow]")
        if replacements:
            self.out.print(
                f"[bold red]!! {len(replacements)} resource(s) will be REPLACED (deleted and created anew): "
                f"{', '.join(replacements)}[/bold red]"
            )

    def follow_many(self, run: Callable[[Callable[[dict[str, Any]], None]], dict[str, str]], what: str, timeout_minutes: int = 60) -> dict[str, str]:
        """Print stack events while `run` follows one or more stacks, then each stack's final status."""
        def on_event(ev: dict[str, Any]) -> None:
            status = ev.get("ResourceStatus", "")
            style = "red" if "FAILED" in status or "ROLLBACK" in status else "green" if status.endswith("COMPLETE") else "yellow"
            reason = f"  {ev['ResourceStatusReason']}" if ev.get("ResourceStatusReason") else ""
            when = ev["Timestamp"].strftime("%H:%M:%S") if hasattr(ev.get("Timestamp"), "strftime") else ""
            self.err.print(f"{when} [{style}]{status:<22}[/{style}] {ev.get('LogicalResourceId', '')} ({ev.get('ResourceType', '')}){reason}")

        with self.status(f"waiting for {what}, up to {timeout_minutes} min (--timeout); Ctrl-C stops waiting, not the stack"):
            statuses = run(on_event)
        for stack, status in statuses.items():
            style = "green" if status.endswith("COMPLETE") and "ROLLBACK" not in status else "red"
            self.out.print(f"stack {stack}: [{style}]{status}[/{style}]")
        return statuses

    def outputs(self, outputs: Mapping[str, str]) -> None:
        width = max((len(k) for k in outputs), default=0)
        for key, value in outputs.items():
            self.out.print(f"{key:<{width}} = {value}", soft_wrap=True)

    def summary(self, counts: Mapping[str, Any]) -> None:
        self.out.print("Created in the local AWS:")
        for key, value in counts.items():
            self.out.print(f"  {key}: {value}")

    def stackset(self, result: Any) -> None:
        table = Table(title=f"stack set {result.name}: operation {result.operation_status}")
        for col in ("account", "region", "cidr", "status", "reason"):
            table.add_column(col)
        for i in result.instances:
            table.add_row(i.account, i.region, i.cidr, i.status, i.reason)
        self.out.print(table)
