"""What the command line prints: progress, plans, events, outputs. One place for the terminal."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

ACTION_STYLE = {"Add": ("+", "green"), "Modify": ("~", "yellow"), "Remove": ("-", "red"), "Import": ("<", "cyan"), "Dynamic": ("?", "magenta")}


def is_database(change: Mapping[str, Any]) -> bool:
    """A database, or the nested stack that holds one (its logical id is <Name>Database)."""
    kind, logical = change.get("ResourceType", ""), change.get("LogicalResourceId", "")
    return kind in ("AWS::RDS::DBInstance", "AWS::RDS::DBCluster") or (kind == "AWS::CloudFormation::Stack" and logical.endswith("Database"))


class Reporter:
    def __init__(self) -> None:
        # No emoji codes: ":secret:" in an ARN must print as written.
        self.out = Console(highlight=False, emoji=False)
        self.err = Console(stderr=True, highlight=False, emoji=False)
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
        if self.err.is_terminal:
            with self.err.status(message):
                yield
        else:
            self.err.print(f"{message} ...")
            yield

    def info(self, message: str) -> None:
        self.err.print(message, markup=False, soft_wrap=True)

    def done(self, message: str) -> None:
        self.out.print(f"[green]✓[/green] {escape(message)}", soft_wrap=True)

    def error(self, message: str) -> None:
        self.err.print(f"[red]error:[/red] {escape(message)}", markup=True, soft_wrap=True)

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
