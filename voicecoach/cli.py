"""The command line: a thin Click face over the library (the only module that imports click)."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, NoReturn, TypeVar, cast

import click

from voicecoach import __version__
from voicecoach.errors import Problem, RoutineError, VoicecoachError
from voicecoach.model import VOICE_RATE, VOICE_VOLUME, Voice
from voicecoach.paths import data_dir, find_routine
from voicecoach.wording import minutes_text

if TYPE_CHECKING:
    # Imported where used, so that `voicecoach --help` does not load numpy or SQLite.

    from voicecoach.history import History
    from voicecoach.player import Player
    from voicecoach.program import Today
    from voicecoach.session import Prepared
    from voicecoach.speech import PendingWrites

TRACEBACK_ENV = "VOICECOACH_TRACEBACK"
STARTER = Path(__file__).with_name("starter.toml")


class Failure(click.ClickException):
    """A library error shown verbatim (no ``Error:`` prefix), exit status 1."""

    exit_code = 1

    def show(self, file: IO[str] | None = None) -> None:
        """Print the message as is on stderr."""
        click.echo(self.message, err=True)


class Group(click.Group):
    """The single error boundary: `VoicecoachError` becomes a message and exit status 1."""

    def invoke(self, ctx: click.Context) -> object:
        """Run the command, turning known errors into messages (unless tracing)."""
        try:
            return super().invoke(ctx)
        except VoicecoachError as error:
            if ctx.meta.get("traceback") or os.environ.get(TRACEBACK_ENV):
                raise
            raise Failure(str(error)) from error


def history_dir(ctx: click.Context) -> Path:
    """The history's folder: ``--data-dir`` (or ``$VOICECOACH_DATA_DIR``), else `paths.data_dir`."""
    chosen: Path | None = ctx.find_root().meta.get("data_dir")
    return chosen or data_dir()


def open_history(
    ctx: click.Context, *, create: bool = True, recording: bool = False
) -> History | None:
    """The history database (``--data-dir``, ``$VOICECOACH_DATA_DIR`` or the user data dir).

    With ``create=False`` a missing database is not created (read-only commands). A
    history that cannot be opened does not stop the command: one line on stderr names the
    file and the problem, says that the routine's own doses are used (higher, perhaps,
    than after a recent pain stop) and, with ``recording``, that the session will not be
    recorded; ``None`` comes back. Later warnings of the history (damaged rows) go to
    stderr the same way.
    """
    from voicecoach.history import DB_NAME, FALLBACK_ADVICE

    folder = history_dir(ctx)
    try:
        absent = not (folder / DB_NAME).exists() and not folder.is_file()
    except OSError:
        absent = False  # let History.open say what is wrong with it
    if not create and absent:
        return None
    try:
        return _opened_history(folder)
    except VoicecoachError as error:
        unrecorded = "this session will not be recorded; " if recording else ""
        click.echo(f"warning: {error}; {unrecorded}{FALLBACK_ADVICE}", err=True)
        return None


def require_history(ctx: click.Context) -> History:
    """The history database (created if missing), or the error that says why it cannot be."""
    return _opened_history(history_dir(ctx))


def _opened_history(folder: Path) -> History:
    from voicecoach.history import History

    history = History.open(folder)
    history.on_warning = lambda message: click.echo(f"warning: {message}", err=True)
    return history


class Finite(click.FloatRange):
    """A float range that also refuses NaN (every comparison with NaN is false)."""

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        """Convert like `click.FloatRange`, refusing ``nan``."""
        # Click types the input as the output (float); it is the option's text here.
        number: float = super().convert(cast(float, value), param, ctx)
        if number != number:  # NaN
            self.fail(f"{value!r} is not a number from {self.min:g} to {self.max:g}", param, ctx)
        return number


class Rating(click.types.IntParamType):
    """A pain rating: a whole number from 0 to 10."""

    name = "0-10"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> int:
        """The rating as an int, or a usage error that says what a rating is."""
        text = str(value).strip()
        if text.isdigit() and 0 <= int(text) <= 10:
            return int(text)
        self.fail(
            f"a pain rating is a whole number from 0 (none) to 10 (worst), found {value!r}",
            param,
            ctx,
        )


def fail(message: str) -> NoReturn:
    """Stop the command with ``message`` on stderr and exit status 1."""
    raise Failure(message)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="voicecoach")
@click.option("--traceback", is_flag=True, hidden=True, help="Show tracebacks (debugging).")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="VOICECOACH_DATA_DIR",
    help="Where the history is kept.",
)
@click.pass_context
def cli(ctx: click.Context, traceback: bool, data_dir: Path | None) -> None:
    """Offline, voice-guided core workouts: brace, breathe, and stop before pain.

    ROUTINE arguments are TOML files, or the name of a shipped routine
    (back-basics, big-three, quick-five).
    """
    ctx.meta["traceback"] = traceback
    ctx.meta["data_dir"] = data_dir


@cli.command()
@click.argument("routines", nargs=-1, required=True, metavar="ROUTINE...")
def validate(routines: tuple[str, ...]) -> None:
    """Check routines and report every problem as FILE:LINE:COL: error: MESSAGE."""
    from voicecoach.program import load_today

    problems: list[Problem] = []
    summaries = []
    for spec in routines:
        try:
            today = load_today(spec, None, as_written=True)
        except RoutineError as error:
            problems.extend(error.problems)
            continue
        summaries.append(
            f"{spec}: ok ({len(today.routine.exercises)} exercises, "
            f"{minutes_text(today.timeline.duration)})"
        )
    if problems:
        raise RoutineError(problems)
    click.echo("\n".join(summaries))


@cli.command(name="compile")
@click.argument("routine", metavar="ROUTINE")
@click.option("--json", "as_json", is_flag=True, help="Print the timeline as JSON (version 1).")
@click.option("--as-written", is_flag=True, help="Ignore the history: the file's own doses.")
@click.pass_context
def compile_command(ctx: click.Context, routine: str, as_json: bool, as_written: bool) -> None:
    """Print the cue sheet of ROUTINE: when each cue sounds and what is said.

    Doses are adapted from your history (shorter after pain, longer after pain-free
    sessions) unless --as-written.
    """
    from voicecoach.cuesheet import format_cuesheet
    from voicecoach.program import describe_adjustments, load_today

    today = load_today(
        routine, None if as_written else open_history(ctx, create=False), as_written=as_written
    )
    if as_json:
        click.echo(json.dumps(today.timeline.to_json_dict(), indent=1, ensure_ascii=False))
        return
    lines = format_cuesheet(today.timeline)
    changes = describe_adjustments(today)
    if changes:
        lines[1:1] = [
            "Adapted from your history (--as-written to ignore):",
            *(f"  {c}" for c in changes),
        ]
    click.echo("\n".join(lines))


@cli.command()
def exercises() -> None:
    """List the built-in exercise library (use = "slug" in a routine)."""
    from rich.console import Console

    from voicecoach.report import library_table

    Console().print(library_table())


@cli.command()
def schema() -> None:
    """Print the JSON Schema of the routine format (for editors' #:schema support)."""
    from voicecoach.schema import routine_schema

    click.echo(json.dumps(routine_schema(), indent=2))


@cli.command()
@click.argument("file", default="routine.toml", type=click.Path(dir_okay=False))
@click.option(
    "--from",
    "source",
    metavar="ROUTINE",
    help="Copy ROUTINE (e.g. a shipped one) with today's levels from your history.",
)
@click.option("--force", is_flag=True, help="Overwrite FILE if it exists.")
@click.pass_context
def new(ctx: click.Context, file: str, source: str | None, force: bool) -> None:
    """Write a commented starter routine to FILE (default routine.toml).

    With --from, FILE is a copy of ROUTINE instead, its doses set to where your history
    has brought them (so a shipped routine becomes yours to edit and --write to).
    """
    from voicecoach.files import atomic_write

    if not file:
        fail("error: empty file name; name the routine file to write, e.g. my-core.toml")
    if Path(file).exists() and not force:
        fail(f"{file}: error: the file exists; choose another name or pass --force")
    check_outputs(ctx, source or str(STARTER), [("FILE", Path(file))])
    if source is None:
        text, changes = STARTER.read_text(encoding="utf-8"), list[str]()
    else:
        text, changes = copy_with_levels(ctx, source)
    try:
        atomic_write(Path(file), text)
    except OSError as error:
        from voicecoach.files import os_error_text

        fail(f"{file}: error: cannot write the file: {os_error_text(error)}")
    for line in changes:
        click.echo(f"Adapted: {line}", err=True)
    click.echo(f"wrote {file}; edit it, then: voicecoach play {file}", err=True)


def copy_with_levels(ctx: click.Context, routine: str) -> tuple[str, list[str]]:
    """ROUTINE's text with today's adapted levels written in, and the changes made."""
    from voicecoach.adapt import levels
    from voicecoach.program import describe_adjustments, load_today
    from voicecoach.writeback import apply_levels_keeping_bom

    today = load_today(routine, open_history(ctx, create=False))
    try:
        # The loader has just read it as UTF-8; bytes keep its line endings.
        text = today.path.read_bytes().decode("utf-8")
    except OSError as error:
        from voicecoach.files import os_error_text

        fail(f"{routine}: error: cannot read the routine: {os_error_text(error)}")
    return (
        apply_levels_keeping_bom(text, levels(today.adjustments), file=routine),
        describe_adjustments(today),
    )


_Command = TypeVar("_Command", bound=Callable[..., None])


def voice_options(f: _Command) -> _Command:
    """The --voice, --rate and --volume options shared by play and render."""
    f = click.option("--volume", type=Finite(*VOICE_VOLUME), help="Volume, 0 to 1.")(f)
    f = click.option("--rate", type=click.IntRange(*VOICE_RATE), help="Words per minute.")(f)
    return click.option(
        "--voice",
        help="Voice id or name, or piper:NAME / piper:PATH.onnx for a Piper voice "
        "(see voicecoach voices).",
    )(f)


def prepare_audio(
    today: Today,
    choice: Voice,
    samplerate: int,
    pending: PendingWrites | None = None,
    on_note: Callable[[str], None] | None = None,
) -> Prepared:
    """Synthesize (or load cached) speech for today's session with a progress bar.

    With ``pending``, the cache writes wait there (see `speech.PendingWrites`), and their
    notes go to ``on_note`` when they are made.
    """
    from voicecoach.paths import cache_dir
    from voicecoach.session import prepare_speech
    from voicecoach.startup import SynthesisProgress

    def say(note: str) -> None:
        click.echo(f"note: {note}", err=True)

    progress = SynthesisProgress()
    try:
        return prepare_speech(
            today.timeline,
            today.routine,
            choice,
            samplerate,
            cache_dir(),
            progress=progress.update,
            on_note=on_note or say,
            pending=pending,
        )
    finally:
        progress.stop()


def say_adjustments(today: Today) -> None:
    """Tell the user, before anything plays, what the history changed today."""
    from voicecoach.program import describe_adjustments

    for line in describe_adjustments(today):
        click.echo(f"Adapted: {line}", err=True)


def start_listening(player: Player, mic: str | None) -> None:
    """Open the microphone for spoken keywords; without one, say so and play on."""
    from voicecoach.hearing import CoachSpeech
    from voicecoach.listening import Listener, ListenError

    coach = CoachSpeech()
    listener = Listener(player.on_command, coach, device=mic)
    try:
        listener.start()
    except ListenError as error:
        click.echo(f"warning: not listening: {error}; the keys still work", err=True)
        return
    player.listener, player.coach = listener, coach


@cli.command()
@click.argument("routine", metavar="ROUTINE")
@click.option("--text", is_flag=True, help="No sound: print each cue when it is due.")
@click.option(
    "--speed",
    type=Finite(0.1, 1000),
    default=1.0,
    show_default=True,
    help="With --text: play N times faster, to preview a routine.",
)
@click.option("--device", help="Output device name or index (see voicecoach devices).")
@click.option(
    "--lead-in",
    type=Finite(0, 5),
    envvar="VOICECOACH_LEAD_IN",
    show_envvar=True,
    help="Seconds of silence before the first word and before 'Resuming', so that "
    "Bluetooth earbuds waking up do not cut it [default: twice the device's latency].",
)
@click.option(
    "--audio-buffer",
    type=Finite(0.001, 1),
    envvar="VOICECOACH_AUDIO_BUFFER",
    show_envvar=True,
    help="Seconds of audio queued for the device: larger survives a busy machine, smaller "
    "pauses sooner [default: the device's lowest, widened to 0.03 after 2 underruns].",
)
@click.option(
    "--media-keys/--no-media-keys",
    default=True,
    envvar="VOICECOACH_MEDIA_KEYS",
    show_envvar=True,
    help="Let earbud buttons, media keys and the desktop's media widget pause, skip and "
    "stop (MPRIS on the D-Bus session bus; Linux)  [default: on]",
)
@click.option(
    "--listen",
    is_flag=True,
    help="Hear spoken keywords offline: 'stop' or 'pain' stops for pain, 'pause', "
    "'resume' or 'continue', 'next'. Audio stays in memory; needs "
    "pip install 'voicecoach[listen]'.",
)
@click.option("--mic", metavar="DEVICE", help="With --listen: the input device (name or index).")
@voice_options
@click.option("--as-written", is_flag=True, help="Ignore the history: the file's own doses.")
@click.pass_context
def play(
    ctx: click.Context,
    routine: str,
    text: bool,
    speed: float,
    device: str | None,
    lead_in: float | None,
    audio_buffer: float | None,
    media_keys: bool,
    listen: bool,
    mic: str | None,
    voice: str | None,
    rate: int | None,
    volume: float | None,
    as_written: bool,
) -> None:
    """Play ROUTINE hands-free.

    Keys: Space pause/resume, x or Esc stop (pain), n next exercise, b back to the start
    of the set, q quit. Earbud play/pause and media keys pause and resume; next and
    previous skip as n and b; stop quits (a pain stop is always x).
    """
    if speed != 1.0 and not text:
        raise click.UsageError("--speed needs --text (sound always plays in real time)")
    if mic is not None and not listen:
        raise click.UsageError("--mic needs --listen (the microphone is never opened without)")
    from voicecoach.startup import DeviceLookup, write_cache_later

    # PortAudio starts while everything else is loaded and prepared.
    lookup = None if text else DeviceLookup(device)

    from voicecoach.dropouts import describe as describe_dropouts
    from voicecoach.history import timeline_hash
    from voicecoach.player import Player
    from voicecoach.program import load_today
    from voicecoach.recording import PREVIEW_NOTE, Recorder, SessionInfo, is_preview
    from voicecoach.session import DEFAULT_SAMPLERATE, build_mixer, prepare_silent
    from voicecoach.speech import PendingWrites
    from voicecoach.views import session_summary

    preview = is_preview(text, speed)
    history = open_history(ctx, recording=not preview)
    today = load_today(routine, history, as_written=as_written)
    say_adjustments(today)
    if preview:
        # A preview is not training: it must never move a dose (a pain stop still does).
        click.echo(
            f"{PREVIEW_NOTE} (--speed {speed:g}; a pain stop with x is still recorded)", err=True
        )
    # Cache writes wait until the first word sounds; their notes, until the session ends.
    pending = PendingWrites()
    late_notes: list[str] = []
    device_index = None
    if lookup is None:
        prepared = prepare_silent(today.timeline)
    else:
        prepared = prepare_audio(
            today, Voice(voice, rate, volume), DEFAULT_SAMPLERATE, pending, late_notes.append
        )
        device_index = lookup.result()
    plan, mixer = build_mixer(today.timeline, prepared)
    recorder = Recorder(
        history,
        today.routine,
        SessionInfo(
            str(today.path), today.routine.title, timeline_hash(today.timeline), today.written
        ),
        preview=preview,
    )
    recorder.start()
    if recorder.error:
        click.echo(f"warning: {recorder.error}; this session will not be recorded", err=True)
    player = Player(
        today.timeline,
        plan,
        mixer,
        recorder,
        text=text,
        speed=speed,
        device=device_index,
        lead_in=lead_in,
        buffer=audio_buffer,
        media_keys=media_keys,
    )
    if listen and not text:
        start_listening(player, mic)
    writer = write_cache_later(pending, mixer)
    try:
        result = player.run()
    finally:
        if writer is not None:
            writer.join()
        for note in late_notes:
            with contextlib.suppress(OSError):
                click.echo(f"note: {note}", err=True)
    # A terminal that hung up (SIGHUP) cannot show it; the session is recorded anyway.
    with contextlib.suppress(OSError):
        click.echo(session_summary(result), err=True)
    if dropouts := describe_dropouts(result.dropouts):
        click.echo(f"note: {dropouts}", err=True)
    if result.exit_status is not None:  # SIGTERM or SIGHUP: the status they call for
        ctx.exit(result.exit_status)
    if result.interrupted:
        ctx.exit(130)


@cli.command()
@click.argument("routine", metavar="ROUTINE")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Audio file: .wav, .flac, .ogg or .mp3.",
)
@click.option(
    "--timeline",
    "timeline_out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the as-rendered timeline (JSON, version 1).",
)
@click.option("--samplerate", type=click.IntRange(8000, 192000), default=48000, show_default=True)
@voice_options
@click.option("--as-written", is_flag=True, help="Ignore the history: the file's own doses.")
@click.pass_context
def render(
    ctx: click.Context,
    routine: str,
    output: Path,
    timeline_out: Path | None,
    samplerate: int,
    voice: str | None,
    rate: int | None,
    volume: float | None,
    as_written: bool,
) -> None:
    """Render ROUTINE to an audio file, faster than real time, for a phone."""
    from voicecoach.program import load_today
    from voicecoach.session import build_mixer
    from voicecoach.sinks import check_output_path, render_to_file

    outputs = [("-o/--output", output)]
    if timeline_out is not None:
        outputs.append(("--timeline", timeline_out))
    check_outputs(ctx, routine, outputs)
    check_output_path(output)
    today = load_today(
        routine, None if as_written else open_history(ctx, create=False), as_written=as_written
    )
    say_adjustments(today)
    prepared = prepare_audio(today, Voice(voice, rate, volume), samplerate)
    plan, mixer = build_mixer(today.timeline, prepared)
    companions = []
    if timeline_out is not None:
        companions.append(
            (
                timeline_out,
                lambda: (
                    json.dumps(plan.as_rendered(today.routine.title), indent=1, ensure_ascii=False)
                    + "\n"
                ),
            )
        )
    frames = render_to_file(mixer, output, frames=plan.total_frames, companions=companions)
    click.echo(f"wrote {output} ({minutes_text(frames / samplerate)})", err=True)


def check_outputs(ctx: click.Context, routine: str, outputs: list[tuple[str, Path]]) -> None:
    """Refuse outputs that would replace the routine, the history, an earcon or each other."""
    from voicecoach.files import check_output_paths
    from voicecoach.history import DB_NAME
    from voicecoach.paths import config_dir

    inputs = [("the routine", find_routine(routine)), ("your history", history_dir(ctx) / DB_NAME)]
    earcons = config_dir() / "earcons"
    if earcons.is_dir():
        inputs += [("an earcon of yours", p) for p in sorted(earcons.iterdir())]
    check_output_paths(outputs, inputs)


@cli.command()
def voices() -> None:
    """List the installed voices: the system's (pyttsx3), then Piper's as piper:NAME."""
    from voicecoach.speech import list_voices
    from voicecoach.speech.piper import INSTALL_COMMAND, PIPER_PREFIX, runtime_installed

    found = list_voices()
    for v in found:
        langs = ", ".join(v.languages) if v.languages else ""
        click.echo(f"{v.id:<28} {v.name}  {langs}".rstrip())
    if any(v.id.startswith(PIPER_PREFIX) for v in found) and not runtime_installed():
        click.echo(f"note: the piper: voices need the Piper runtime: {INSTALL_COMMAND}", err=True)


@cli.command()
@click.option("--mic", is_flag=True, help="List the microphones instead (for play --listen --mic).")
def devices(mic: bool) -> None:
    """List the audio output devices (use --device NAME|INDEX with play)."""
    from voicecoach.devices import list_input_devices, list_output_devices

    found = list_input_devices() if mic else list_output_devices()
    if not found:
        if mic:
            fail("no microphone found (no input device); play works without --listen")
        from voicecoach.devices import NO_DEVICE_MESSAGE

        fail(NO_DEVICE_MESSAGE)
    for d in found:
        click.echo(d.describe())


@cli.command()
@click.argument("exercise", required=False)
@click.option("--routine", "routine_spec", metavar="ROUTINE", help="Only this routine.")
@click.option("--limit", type=click.IntRange(1, 10000), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Export everything as JSON.")
@click.option("--csv", "as_csv", is_flag=True, help="Export everything as CSV.")
@click.pass_context
def history(
    ctx: click.Context,
    exercise: str | None,
    routine_spec: str | None,
    limit: int,
    as_json: bool,
    as_csv: bool,
) -> None:
    """Recent sessions, or the trend of one EXERCISE with pain stops marked."""
    from rich.console import Console

    from voicecoach.history import routine_key
    from voicecoach.report import exercise_chart, history_csv, history_json, sessions_table

    db = require_history(ctx)

    def say_damage() -> None:
        # Whatever was shown, say what had to be skipped to show it.
        if db.damage():
            click.echo(f"warning: the history at {db.path} is damaged: {db.damage()}", err=True)

    ctx.call_on_close(say_damage)
    if as_json:
        click.echo(history_json(db.export()))
        return
    if as_csv:
        click.echo(history_csv(db), nl=False)
        return
    path = routine_key(find_routine(routine_spec)) if routine_spec else None
    if exercise:
        stats = db.exercise_history(path, exercise)
        if not stats:
            fail(f"no sessions of {exercise!r} in the history yet")
        click.echo(exercise_chart(exercise, stats))
        return
    Console().print(sessions_table(db.sessions(limit, path)))


@cli.command()
@click.argument("rating", type=Rating())
@click.option("--note", help="What happened, in your words.")
@click.option("--exercise", help="The exercise it relates to, if any.")
@click.pass_context
def pain(ctx: click.Context, rating: int, note: str | None, exercise: str | None) -> None:
    """Record a pain note after the fact (0 = none, 10 = worst)."""
    require_history(ctx).add_pain_note(rating, note, exercise)
    click.echo(f"recorded pain {rating}/10", err=True)


@cli.command()
@click.argument("routine", metavar="ROUTINE")
@click.option("--write", is_flag=True, help="Write today's levels into the routine file.")
@click.pass_context
def progress(ctx: click.Context, routine: str, write: bool) -> None:
    """Show how the history adapts ROUTINE; --write saves the levels into the file."""
    from voicecoach.adapt import levels
    from voicecoach.program import describe_adjustments, load_today
    from voicecoach.writeback import write_levels

    today = load_today(routine, open_history(ctx, create=False))
    changes = describe_adjustments(today)
    click.echo("\n".join(changes) if changes else "No changes: the file's doses stand.")
    if write and changes:
        write_levels(today.path, levels(today.adjustments))
        click.echo(f"wrote the levels into {today.path}", err=True)


def main() -> None:
    """Console-script entry point."""
    sys.exit(cli.main(prog_name="voicecoach"))
