"""The command line: a thin Click face over the library (the only module that imports click)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from voicecoach import __version__
from voicecoach.errors import Problem, RoutineError, VoicecoachError
from voicecoach.model import Routine
from voicecoach.paths import find_routine
from voicecoach.timeline import Timeline, compile_routine

TRACEBACK_ENV = "VOICECOACH_TRACEBACK"
STARTER = Path(__file__).with_name("starter.toml")


class Failure(click.ClickException):
    """A library error shown verbatim (no ``Error:`` prefix), exit status 1."""

    exit_code = 1

    def show(self, file: Any = None) -> None:
        """Print the message as is on stderr."""
        click.echo(self.message, err=True)


class Group(click.Group):
    """The single error boundary: `VoicecoachError` becomes a message and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command, turning known errors into messages (unless tracing)."""
        try:
            return super().invoke(ctx)
        except VoicecoachError as error:
            if ctx.meta.get("traceback") or os.environ.get(TRACEBACK_ENV):
                raise
            raise Failure(str(error)) from error


def load(spec: str) -> tuple[Routine, Timeline]:
    """Load and compile the routine that ``spec`` names; errors name ``spec`` as typed."""
    from voicecoach.routine import load_routine

    routine = load_routine(find_routine(spec), display_name=spec)
    return routine, compile_routine(routine, file=spec)


def fail(message: str) -> NoReturn:
    """Stop the command with ``message`` on stderr and exit status 1."""
    raise Failure(message)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="voicecoach")
@click.option("--traceback", is_flag=True, hidden=True, help="Show tracebacks (debugging).")
@click.pass_context
def cli(ctx: click.Context, traceback: bool) -> None:
    """Offline, voice-guided core workouts: brace, breathe, and stop before pain.

    ROUTINE arguments are TOML files, or the name of a shipped routine
    (back-basics, big-three, quick-five).
    """
    ctx.meta["traceback"] = traceback


@cli.command()
@click.argument("routines", nargs=-1, required=True, metavar="ROUTINE...")
def validate(routines: tuple[str, ...]) -> None:
    """Check routines and report every problem as FILE:LINE:COL: error: MESSAGE."""
    problems: list[Problem] = []
    summaries = []
    for spec in routines:
        try:
            routine, timeline = load(spec)
        except RoutineError as error:
            problems.extend(error.problems)
            continue
        summaries.append(f"{spec}: ok ({len(routine.exercises)} exercises, "
                         f"{timeline.duration / 60:.1f} minutes)")
    if problems:
        raise RoutineError(problems)
    click.echo("\n".join(summaries))


@cli.command(name="compile")
@click.argument("routine", metavar="ROUTINE")
@click.option("--json", "as_json", is_flag=True, help="Print the timeline as JSON (version 1).")
def compile_command(routine: str, as_json: bool) -> None:
    """Print the cue sheet of ROUTINE: when each cue sounds and what is said."""
    from voicecoach.cuesheet import format_cuesheet

    _, timeline = load(routine)
    if as_json:
        click.echo(json.dumps(timeline.to_json_dict(), indent=1, ensure_ascii=False))
    else:
        click.echo("\n".join(format_cuesheet(timeline)))


@cli.command()
def exercises() -> None:
    """List the built-in exercise library (use = "slug" in a routine)."""
    from rich.console import Console
    from rich.table import Table

    from voicecoach.library import library_entries

    table = Table(title="Exercise library", show_lines=True)
    for column in ("use =", "name", "kind", "dose", "coaching cues"):
        table.add_column(column)
    for entry in library_entries():
        doses = "\n".join(
            f"{kind}: " + ", ".join(f"{k} {v}" for k, v in dose.items())
            for kind, dose in entry.doses.items())
        sides = entry.keys.get("sides")
        if sides:
            doses += f"\nsides {sides}"
        table.add_row(entry.slug, entry.name, entry.kind, doses,
                      "\n".join(f"- {c}" for c in entry.cues))
    Console().print(table)


@cli.command()
def schema() -> None:
    """Print the JSON Schema of the routine format (for editors' #:schema support)."""
    from voicecoach.schema import routine_schema

    click.echo(json.dumps(routine_schema(), indent=2))


@cli.command()
@click.argument("file", default="routine.toml", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Overwrite FILE if it exists.")
def new(file: str, force: bool) -> None:
    """Write a commented starter routine to FILE (default routine.toml)."""
    path = Path(file)
    if path.exists() and not force:
        fail(f"{file}: error: the file exists; choose another name or pass --force")
    try:
        path.write_text(STARTER.read_text(encoding="utf-8"), encoding="utf-8")
    except OSError as error:
        fail(f"{file}: error: cannot write the file: {error.strerror}")
    click.echo(f"wrote {file}; edit it, then: voicecoach play {file}", err=True)


def main() -> None:
    """Console-script entry point."""
    sys.exit(cli.main(prog_name="voicecoach"))
