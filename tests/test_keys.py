"""Key input: decoding, commands, then a real pseudo-terminal and tmux for cbreak mode, restore."""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import shlex
import signal
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from voicecoach.commands import Command
from voicecoach.keys import (
    BACKSPACE,
    ENTER,
    ESCAPE,
    SPACE,
    UP,
    CbreakKeys,
    Key,
    KeyReader,
    PainEntry,
    command_for,
    decode_keys,
    describe_key,
    digit_for,
)

ROOT = Path(__file__).resolve().parents[1]
PROBE = ROOT / "tests" / "keyprobe.py"
# A guard against a hung child, not a timing assertion.
HANG_S = 15.0


# --- pure parts ------------------------------------------------------------------------


def test_each_command_key_maps_to_its_command() -> None:
    assert command_for(SPACE) is Command.PAUSE
    assert command_for(Key("x")) is Command.STOP_PAIN
    assert command_for(Key("X")) is Command.STOP_PAIN
    assert command_for(ESCAPE) is Command.STOP_PAIN
    assert command_for(Key("n")) is Command.NEXT
    assert command_for(Key("b")) is Command.BACK
    assert command_for(Key("q")) is Command.QUIT


def test_arrow_keys_enter_and_other_letters_have_no_command() -> None:
    for key in (UP, Key("\x1b[B"), ENTER, Key("a"), Key("5"), Key("\x1bn")):
        assert command_for(key) is None


def test_digits_map_to_their_value_and_nothing_else_does() -> None:
    assert [digit_for(Key(str(d))) for d in range(10)] == list(range(10))
    assert digit_for(Key("t")) is None
    assert digit_for(SPACE) is None
    assert digit_for(Key("10")) is None


def test_keys_arriving_in_one_read_are_split_into_single_keys() -> None:
    assert decode_keys("xnb") == ["x", "n", "b"]
    assert decode_keys("\x1b[A\x1b[Bq") == [UP, "\x1b[B", "q"]
    assert decode_keys("\x1b") == [ESCAPE]
    assert decode_keys("\x1b\x1b[A") == [ESCAPE, UP]
    assert decode_keys("\x1bn") == [ESCAPE, "n"]  # Escape stays a stop key
    assert decode_keys("\x1b[15~ ") == ["\x1b[15~", SPACE]
    assert decode_keys("\x1bOA") == ["\x1bOA"]
    assert decode_keys("\n\r") == [ENTER, ENTER]


def test_keys_have_readable_names() -> None:
    assert [describe_key(k) for k in (SPACE, ESCAPE, UP, ENTER, Key("x"), Key("\x03"))] == [
        "Space",
        "Escape",
        "Up",
        "Enter",
        "x",
        "^C",
    ]


def feed_all(keys: str) -> PainEntry:
    entry = PainEntry()
    for k in decode_keys(keys):
        if entry.feed(k):
            break
    return entry


def test_pain_ratings_from_0_to_10_can_be_typed() -> None:
    assert feed_all("0").rating == 0
    assert feed_all("7").rating == 7
    assert feed_all("10").rating == 10
    assert feed_all("t").rating == 10
    assert feed_all("1\r").rating == 1


def test_a_waiting_one_is_replaced_by_another_digit_and_cleared_by_backspace() -> None:
    assert feed_all("15").rating == 5
    entry = feed_all("1" + BACKSPACE + "3")
    assert entry.done and entry.rating == 3


def test_enter_with_nothing_typed_skips_the_rating() -> None:
    entry = feed_all("\r")
    assert entry.done and entry.rating is None


def test_a_typed_one_waits_until_the_caller_finishes_it() -> None:
    entry = feed_all("1")
    assert not entry.done and entry.pending == "1"
    entry.finish()
    assert entry.done and entry.rating == 1


# --- not a terminal --------------------------------------------------------------------


def test_a_pipe_is_not_a_terminal_and_reading_gives_nothing() -> None:
    r, w = os.pipe()
    with os.fdopen(r) as stream, CbreakKeys(stream) as keys:
        os.write(w, b"x")
        assert keys.available is False
        assert keys.reason == "no key controls: stdin is not a terminal"
        assert keys.read_key(0.0) is None
    os.close(w)


def test_without_a_terminal_sigterm_and_sighup_still_end_the_program_cleanly() -> None:
    # Under `timeout` or a service manager there is no terminal to restore, but the
    # default action of SIGTERM would kill the program before it records how it ended.
    r, w = os.pipe()
    before = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGHUP)}
    with os.fdopen(r) as stream, CbreakKeys(stream) as keys:
        assert keys.available is False
        for signum in before:
            assert signal.getsignal(signum) == keys._on_exit_signal
        with pytest.raises(SystemExit) as ended:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(HANG_S)  # the handler raises here, at once
        assert ended.value.code == 128 + signal.SIGTERM
    os.close(w)
    assert {s: signal.getsignal(s) for s in before} == before


def test_a_key_reader_without_a_terminal_starts_no_thread() -> None:
    r, w = os.pipe()
    seen: list[Key] = []
    with os.fdopen(r) as stream, CbreakKeys(stream) as keys, KeyReader(keys, seen.append) as reader:
        assert reader.running is False
    os.close(w)
    assert seen == []


def test_the_probe_reports_no_key_controls_when_stdin_is_a_pipe() -> None:
    done = subprocess.run(
        [sys.executable, str(PROBE)],
        input="x q",
        capture_output=True,
        text=True,
        timeout=HANG_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "available=False" in done.stdout
    assert "no key controls: stdin is not a terminal" in done.stdout


# --- a real pseudo-terminal ------------------------------------------------------------


def stty(fd: int) -> str:
    """``stty -g`` of the terminal open on ``fd``, as the stty program reports it."""
    return subprocess.run(
        ["stty", "-g"], stdin=fd, capture_output=True, text=True, check=True
    ).stdout.strip()


def _take_terminal() -> None:
    # Runs in the child after setsid: the pty becomes its controlling terminal, so
    # Ctrl-C typed on it raises SIGINT in the child, as in a real shell.
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Probe:
    """The key probe running on a fresh pseudo-terminal that the test types into."""

    # Probes of the running test; `_reap_probes` kills any left behind by a failure, so a
    # failed test does not leave a process that makes a later, unrelated test fail.
    started: ClassVar[list[Probe]] = []

    def __init__(self, *args: str) -> None:
        self.master, self.slave = os.openpty()
        self.before = stty(self.slave)
        self.proc = subprocess.Popen(
            [sys.executable, str(PROBE), *args],
            stdin=self.slave,
            stdout=self.slave,
            stderr=self.slave,
            start_new_session=True,
            preexec_fn=_take_terminal,
            cwd=ROOT,
        )
        Probe.started.append(self)
        self.output = ""
        self.expect("ready pid=")

    def expect(self, text: str, start: int = 0) -> str:
        """Read the terminal until ``text`` appears after offset ``start``; return output."""
        deadline = time.monotonic() + HANG_S
        while text not in self.output[start:]:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{text!r} never came; output so far:\n{self.output}")
            if select.select([self.master], [], [], left)[0]:
                try:
                    chunk = os.read(self.master, 4096)
                except OSError:  # EIO: every writer is gone
                    raise AssertionError(f"{text!r} never came:\n{self.output}") from None
                self.output += chunk.decode("utf-8", "replace").replace("\r\n", "\n")
        return self.output

    def press(self, data: bytes, expect: str) -> None:
        """Type ``data`` and wait for the line it should produce."""
        start = len(self.output)
        os.write(self.master, data)
        self.expect(expect, start)

    def finish(self) -> tuple[int, str]:
        """Wait for the exit; return the exit status and ``stty -g`` afterwards."""
        status = self.proc.wait(timeout=HANG_S)
        while select.select([self.master], [], [], 0)[0]:
            chunk = os.read(self.master, 65536)
            self.output += chunk.decode("utf-8", "replace").replace("\r\n", "\n")
        after = stty(self.slave)
        self.close()
        return status, after

    def close(self) -> None:
        """Kill the probe if it still runs and close the terminal (idempotent)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for fd in (self.master, self.slave):
            with contextlib.suppress(OSError):
                os.close(fd)
        self.master = self.slave = -1

    def lines(self) -> list[str]:
        return [line for line in self.output.splitlines() if line.startswith("key ")]


@pytest.fixture(autouse=True)
def _reap_probes() -> Iterator[None]:
    yield
    while Probe.started:
        Probe.started.pop().close()


KEYS_AND_LINES = [
    (b" ", "key Space command PAUSE digit -"),
    (b"x", "key x command STOP_PAIN digit -"),
    (b"\x1b", "key Escape command STOP_PAIN digit -"),
    (b"\x1b[A", "key Up command - digit -"),
    (b"n", "key n command NEXT digit -"),
    (b"b", "key b command BACK digit -"),
    (b"7", "key 7 command - digit 7"),
    (b"0", "key 0 command - digit 0"),
    (b"\r", "key Enter command - digit -"),
    (b"q", "key q command QUIT digit -"),
]


@pytest.mark.parametrize("mode", [(), ("--thread",)], ids=["read_key", "KeyReader"])
def test_single_key_presses_are_decoded_in_a_pseudo_terminal(mode: tuple[str, ...]) -> None:
    probe = Probe(*mode)
    for data, line in KEYS_AND_LINES:
        probe.press(data, line)
    status, after = probe.finish()
    assert status == 0, probe.output
    assert probe.lines() == [line for _, line in KEYS_AND_LINES]
    assert after == probe.before


def test_cbreak_mode_turns_off_line_buffering_and_echo_but_keeps_ctrl_c() -> None:
    probe = Probe()
    mode = termios.tcgetattr(probe.slave)
    lflag = mode[3]
    assert not lflag & termios.ICANON
    assert not lflag & termios.ECHO
    assert lflag & termios.ISIG
    probe.press(b"q", "key q")
    probe.finish()


def test_keys_typed_together_each_give_one_line() -> None:
    probe = Probe()
    probe.press(b"xnb\x1b[Aq", "key q")
    status, _ = probe.finish()
    assert status == 0
    assert [line.split()[1] for line in probe.lines()] == ["x", "n", "b", "Up", "q"]


def test_quitting_normally_restores_the_terminal() -> None:
    probe = Probe()
    probe.press(b"q", "key q")
    status, after = probe.finish()
    assert status == 0
    assert after == probe.before


def test_ctrl_c_raises_keyboard_interrupt_and_restores_the_terminal() -> None:
    probe = Probe()
    probe.press(b"\x03", "interrupted")
    status, after = probe.finish()
    assert status == 130
    assert after == probe.before


@pytest.mark.parametrize("mode", [(), ("--thread",)], ids=["read_key", "KeyReader"])
def test_sigterm_exits_with_status_143_and_restores_the_terminal(mode: tuple[str, ...]) -> None:
    probe = Probe(*mode)
    probe.press(b"n", "key n")
    probe.proc.send_signal(signal.SIGTERM)
    status, after = probe.finish()
    assert status == 128 + signal.SIGTERM
    assert after == probe.before


def test_sighup_exits_with_status_129_and_restores_the_terminal() -> None:
    probe = Probe()
    probe.proc.send_signal(signal.SIGHUP)
    status, after = probe.finish()
    assert status == 128 + signal.SIGHUP
    assert after == probe.before


def test_an_exception_inside_restores_the_terminal() -> None:
    probe = Probe("--fail-on", "e")
    probe.press(b"e", "probe failure on request")
    status, after = probe.finish()
    assert status == 1
    assert "RuntimeError" in probe.output
    assert after == probe.before


def test_leaving_without_restoring_is_detected_by_the_stty_comparison() -> None:
    # The control for the restore tests: a program that skips the restore is caught.
    probe = Probe("--leak")
    status, after = probe.finish()
    assert status == 0
    assert after != probe.before


def test_cbreak_mode_comes_back_after_the_shell_resets_the_terminal_on_continue() -> None:
    probe = Probe()
    cbreak = stty(probe.slave)
    # What a shell does while the program is stopped: its own line mode, then fg.
    subprocess.run(["stty", "icanon", "echo"], stdin=probe.slave, check=True)
    probe.proc.send_signal(signal.SIGCONT)
    deadline = time.monotonic() + HANG_S
    while stty(probe.slave) != cbreak:
        assert time.monotonic() < deadline, "cbreak mode never came back"
        time.sleep(0.01)
    probe.press(b"q", "key q")  # a single key, no Enter: cbreak mode is back
    status, after = probe.finish()
    assert status == 0
    assert after == probe.before


# --- tmux: a real terminal emulator ----------------------------------------------------


@pytest.mark.e2e
def test_keys_sent_through_tmux_are_decoded_and_the_terminal_is_restored(tmp_path: Path) -> None:
    socket = f"vc-keys-{os.getpid()}"
    tmux = ["tmux", "-L", socket, "-f", "/dev/null"]
    log = tmp_path / "pane.txt"
    script = (
        f"cd {shlex.quote(str(ROOT))}; echo before=$(stty -g); "
        f"{shlex.quote(sys.executable)} tests/keyprobe.py; "
        f"echo status=$? after=$(stty -g); sleep 60"
    )
    subprocess.run(
        [*tmux, "new-session", "-d", "-s", "probe", "-x", "100", "-y", "30", "sh", "-c", script],
        check=True,
    )

    def pane() -> str:
        return subprocess.run(
            [*tmux, "capture-pane", "-p", "-J", "-t", "probe"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    def wait_for(text: str, count: int = 1) -> str:
        deadline = time.monotonic() + HANG_S
        while (screen := pane()).count(text) < count:
            assert time.monotonic() < deadline, f"{text!r} never came:\n{screen}"
            time.sleep(0.02)
        return screen

    try:
        wait_for("ready pid=")
        sent = ["Space", "x", "Escape", "Up", "n", "b", "3", "q"]
        for n, name in enumerate(sent, start=1):
            subprocess.run([*tmux, "send-keys", "-t", "probe", name], check=True)
            wait_for("key ", n)  # one key at a time: each read holds exactly one key
        screen = wait_for("status=")
        log.write_text(screen)
    finally:
        subprocess.run([*tmux, "kill-server"], check=False, capture_output=True)
    lines = [line for line in screen.splitlines() if line.startswith("key ")]
    assert lines == [
        "key Space command PAUSE digit -",
        "key x command STOP_PAIN digit -",
        "key Escape command STOP_PAIN digit -",
        "key Up command - digit -",
        "key n command NEXT digit -",
        "key b command BACK digit -",
        "key 3 command - digit 3",
        "key q command QUIT digit -",
    ]
    before = next(w for w in screen.split() if w.startswith("before="))[len("before=") :]
    after = next(w for w in screen.split() if w.startswith("after="))[len("after=") :]
    assert "status=0" in screen
    assert before and after == before
