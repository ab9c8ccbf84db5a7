"""Spoken commands from the microphone: pocketsphinx keyword spotting in a child process.

The parent (:class:`Listener`) only reads lines from a pipe. The child (``python -m
voicecoach.listening``) owns the microphone and the decoder, because
``Decoder.process_raw`` holds the GIL for about 3 ms per 100 ms of audio (a 1 ms ticker
thread saw 9 ms gaps), and the player's output callback has a 10.7 ms buffer in the
parent: decoding there would risk underruns.

Privacy: the audio lives in the child's memory only, 100 ms at a time; it is never
written to a file or sent anywhere. Only keyword names and times cross the pipe.

The pipe carries one JSON object per line, child to parent:
``{"ready": T}`` once the first audio has been decoded, ``{"hit": WORD, "start": S,
"end": E}`` for each keyword (``time.monotonic()`` seconds; CLOCK_MONOTONIC is one clock
for every process of the machine), ``{"error": MESSAGE}`` before the child gives up.
The child ends when its stdin closes, so it never outlives the parent.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import IO, Any

from voicecoach.commands import Command
from voicecoach.devices import DeviceError, list_input_devices, sounddevice_module
from voicecoach.errors import VoicecoachError
from voicecoach.hearing import CoachSpeech, Heeding

SAMPLERATE = 16000  # pocketsphinx's en-US model
BLOCK_FRAMES = 1600  # 100 ms per process_raw, as measured
FRAME_SAMPLES = 160  # a pocketsphinx frame is 10 ms

# Hearing a keyword takes three steps, each measured (benchmarks/RESULTS.md, "Hearing the
# words apart"): the kws search finds a keyword-like sound (THRESHOLDS: smaller is more
# eager), the loudness gate drops what is no louder than the background, and a second
# pass with a closed-set grammar decides which word it was. The kws search alone confuses
# the keywords with each other: "pause" was heard 0 times in 18 but set off "stop" or
# "pain" 4 times, and 71 of 84 other words said (hello, breathe, yes...) became commands.
# With the second pass, the kws thresholds only need to find the sound: "pause" and "pain"
# went from 1e-15 (strict, for the silences, which the loudness gate now guards) to 1e-25.
# Every keyword also fires inside the coach's own words, so CoachSpeech ignores any
# keyword while the coach speaks (hearing.ANY_SPEECH).
THRESHOLDS: dict[str, float] = {
    "stop": 1e-25,
    "pain": 1e-25,
    "pause": 1e-25,
    "next": 1e-30,
    "resume": 1e-30,
    "continue": 1e-40,
}

# A null sink's monitor (and some muted microphones) deliver exact digital silence, on
# which pocketsphinx's normalisation degenerates and "stop" fires every few seconds
# (measured: 7 hits in 30 s of zeros at 1e-10). A real microphone's own noise is far
# above this floor (about -72 dBFS), so adding it changes nothing there.
NOISE_FLOOR = 8.0  # standard deviation, in int16 steps

# The loudness gate. pocketsphinx finds keywords in plain noise: 40 "pain" (a stop!) in
# 20 min of the noise floor above alone, and 2 false stops in the silences of a rendered
# back-basics. A word said to the microphone stands far above the background between
# words; noise that happens to fit a keyword does not. So a keyword counts only when its
# loudest 20 ms is SPOKEN_OVER_BACKGROUND_DB above the background (the quietest
# BACKGROUND_PERCENTILE of the last LOUDNESS_WINDOW_S).
FRAME_S = 0.02
LOUDNESS_WINDOW_S = 10.0
BACKGROUND_PERCENTILE = 20
SPOKEN_OVER_BACKGROUND_DB = 15.0
# pocketsphinx places a keyword up to about 0.25 s after its sound (measured on espeak-ng
# words in silence): the loudest frame is looked for from this much before.
SPOKEN_LOOKBACK_S = 0.4

# The second pass hears the whole sound a keyword was found in (out to where it stays
# below the speech level for WORD_GAP_S, padded) with a grammar of one word: a keyword,
# or one of OTHER_WORDS, which is then dropped. On espeak-ng words in eight voices, with
# the whole word, it named 48 of 48 keywords right, for about 15 ms of CPU each. The cost
# is latency: the word must have ended (WORD_GAP_S) before it is heard again.
RECENT_S = 3.0  # audio kept for the second pass
WORD_GAP_S = 0.25  # quieter than speech for this long: the word has ended
# Silence around the word for the grammar, measured: a "stop" cut 0.15 s after its /p/
# was heard as "no", with 0.25 s as "stop". The audio after is there anyway by the time
# the word is known to have ended (WORD_GAP_S).
WORD_PAD_BEFORE_S = 0.4
WORD_PAD_AFTER_S = WORD_GAP_S
WORD_LONGEST_S = 2.0  # a longer sound is heard again as it is, without waiting
# Not words that share a keyword's sounds: "so", "that" and "hey" took 6 in 18 of "stop",
# "next" and "pain", and "oh", "go" and "hello" 3 of "stop". These catch what is not a
# keyword at all (measured: of 84 other words said, 71 commands without the second pass,
# 24 with it, nearly all from near-homophones: top, spot, pen, paws, neck, zoom).
OTHER_WORDS = (
    "yes", "no", "okay", "what", "wait", "one", "two", "three", "four", "five",
    "right", "left", "down", "hold", "breathe", "good", "fine", "is", "it",
)  # fmt: skip

# No audio for this long means the microphone is gone (PortAudio does not always say).
SILENT_DEVICE_S = 3.0
# The arrival-time clock mapping uses the lowest offset over this window (the microphone
# clock drifts against CLOCK_MONOTONIC by up to a few hundred ppm).
CLOCK_WINDOW_S = 5.0

NO_POCKETSPHINX_MESSAGE = (
    "listening needs pocketsphinx, which is not installed: pip install 'voicecoach[listen]'"
)
NO_INPUT_MESSAGE = "no microphone found: listening is off (see `voicecoach devices --mic`)"


class ListenError(VoicecoachError):
    """Listening cannot start: no pocketsphinx, no microphone, or an unknown --mic DEVICE."""


# --- The parent ------------------------------------------------------------------------


class Listener:
    """Spoken keywords -> ``on_command``, through a child process that owns the microphone.

    ``on_command`` is called from a background thread with each keyword's `Command`,
    unless `CoachSpeech` says the coach itself said it.
    """

    def __init__(
        self,
        on_command: Callable[[Command], None],
        coach: CoachSpeech,
        *,
        device: str | int | None = None,
    ) -> None:
        self._on_command = on_command
        self._device = device
        self._proc: subprocess.Popen[bytes] | None = None
        self._thread: threading.Thread | None = None
        self._closing = threading.Event()
        self._listening = False
        self._problem = ""
        self._heeding = Heeding(coach)
        self.started_at: float | None = None  # time.monotonic() of start()
        self.ready_at: float | None = None  # when the child first decoded audio
        self.heard: list[tuple[str, float, bool]] = []  # (keyword, end, acted on?)

    def start(self) -> None:
        """Check pocketsphinx and the microphone, then start the child (returns at once).

        Raises
        ------
        ListenError
            pocketsphinx is not installed, there is no input device, or ``device`` names
            none (or several) of them.
        """
        if self._proc is not None:
            return
        self.started_at = time.monotonic()
        if not _have_pocketsphinx():
            raise ListenError(NO_POCKETSPHINX_MESSAGE)
        # Checked here for a clear message before play starts; the child resolves the
        # same words again against its own, fresh device list (indexes can differ).
        resolve_input_device(self._device)
        command = [sys.executable, "-m", "voicecoach.listening"]
        if self._device is not None:
            command += ["--device", str(self._device)]
        try:
            self._proc = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                # pocketsphinx, ALSA and PortAudio write their chatter to fd 2 from C.
                stderr=subprocess.DEVNULL,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
                close_fds=True,
            )
        except OSError as exc:
            raise ListenError(f"could not start the listener: {exc}") from exc
        self._thread = threading.Thread(target=self._read, name="listener", daemon=True)
        self._thread.start()

    @property
    def listening(self) -> bool:
        """True once the child is really hearing (for a display mark)."""
        return self._listening

    @property
    def problem(self) -> str:
        """``""``, or why listening stopped (the microphone was lost...)."""
        return self._problem

    @property
    def child_pid(self) -> int | None:
        """The child process's id (for CPU figures), ``None`` before start."""
        return None if self._proc is None else self._proc.pid

    def close(self) -> None:
        """Stop listening: end the child (freeing the microphone). Idempotent."""
        self._closing.set()
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.stdin is not None:
                with contextlib.suppress(OSError):
                    proc.stdin.close()  # the child's cue to close the stream and exit
            try:
                proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2)
        if proc is not None and proc.stdout is not None:
            proc.stdout.close()
        self._listening = False

    def __enter__(self) -> Listener:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _read(self) -> None:
        proc = self._proc
        assert proc is not None and proc.stdout is not None
        error = ""
        for raw in proc.stdout:
            try:
                message = json.loads(raw)
            except ValueError:
                continue
            if "hit" in message:
                self._hit(str(message["hit"]), float(message["start"]), float(message["end"]))
            elif "ready" in message:
                self.ready_at = float(message["ready"])
                self._listening = True
            elif "error" in message:
                # Said at once: the child may then hang a while closing a dead stream.
                error = str(message["error"])
                self._listening = False
                if not self._closing.is_set():
                    self._problem = error
        self._listening = False
        if not self._closing.is_set():
            self._problem = error or "the listener stopped unexpectedly"

    def _hit(self, keyword: str, start: float, end: float) -> None:
        command = self._heeding.command_for(keyword, start, end)
        self.heard.append((keyword, end, command is not None))
        if command is not None:
            self._on_command(command)


def _have_pocketsphinx() -> bool:
    # Found, not imported: importing it here would cost the player's start-up for nothing.
    try:
        return importlib.util.find_spec("pocketsphinx") is not None
    except ValueError:  # a module set to None in sys.modules: not importable
        return False


def resolve_input_device(spec: str | int | None) -> int | None:
    """The PortAudio index of the microphone asked for (``None``: the default input).

    An index (``int`` or digits), or a case-insensitive part of a device name; an exact
    name wins over parts. Re-reads PortAudio's list first unless a stream is open (a
    rescan would close the player's output): a list read before the microphone appeared,
    or under another sound server, would say there is none.

    Raises
    ------
    ListenError
        No input device at all, no match or several, or no PortAudio library.
    """
    try:
        inputs = list_input_devices()  # rescans, unless a stream is open
    except DeviceError as exc:
        raise ListenError(f"listening is off: {exc}") from exc
    if not inputs:
        raise ListenError(NO_INPUT_MESSAGE)
    listing = "\n".join(f"  [{d.index}] {d.name}" for d in inputs)
    if spec is None:
        if any(d.is_default for d in inputs):
            return None
        return inputs[0].index
    if isinstance(spec, int) or spec.strip().isdigit():
        index = int(spec)
        if any(d.index == index for d in inputs):
            return index
        raise ListenError(f"no microphone with index {index}; input devices:\n{listing}")
    wanted = spec.strip().casefold()
    exact = [d for d in inputs if d.name.casefold() == wanted]
    matches = exact or [d for d in inputs if wanted in d.name.casefold()]
    if len(matches) == 1:
        return matches[0].index
    if not matches:
        raise ListenError(f"no microphone matches {spec!r}; input devices:\n{listing}")
    raise ListenError(
        f"{spec!r} matches {len(matches)} microphones; give more of the name or the index:\n"
        + "\n".join(f"  [{d.index}] {d.name}" for d in matches)
    )


# --- The child -------------------------------------------------------------------------


class _Clock:
    """Microphone frames -> time.monotonic(), from the arrival time of each block.

    A block arrives after its last frame was captured, never before, so the lowest
    ``arrival - frames / samplerate`` over a recent window is the best estimate of when
    frame 0 was captured (the same lower envelope as the tests' capture mapping).
    """

    def __init__(self, samplerate: float) -> None:
        self.samplerate = samplerate
        self._offsets: deque[tuple[float, float]] = deque()  # (arrival, offset)

    def arrived(self, arrival: float, frames_so_far: int) -> None:
        offset = arrival - frames_so_far / self.samplerate
        self._offsets.append((arrival, offset))
        while self._offsets and self._offsets[0][0] < arrival - CLOCK_WINDOW_S:
            self._offsets.popleft()

    def time_of(self, frame: int) -> float:
        return min(o for _, o in self._offsets) + frame / self.samplerate


@contextlib.contextmanager
def _keyword_file(thresholds: dict[str, float]) -> Iterator[str]:
    # pocketsphinx reads a keyword list only from a file: a few words, no audio.
    with tempfile.TemporaryDirectory(prefix="voicecoach-kws-") as folder:
        path = os.path.join(folder, "keywords.txt")
        with open(path, "w", encoding="utf-8") as out:
            for word, threshold in thresholds.items():
                out.write(f"{word} /{threshold:g}/\n")
        yield path


def _send(out: IO[str], message: dict[str, Any]) -> None:
    out.write(json.dumps(message) + "\n")
    out.flush()


def _watch_stdin(stop: threading.Event) -> None:
    # The parent closes our stdin to end us (or dies, which closes it too).
    with contextlib.suppress(OSError):
        while sys.stdin.buffer.read(1):
            pass
    stop.set()


def _verifier_grammar(keywords: Iterable[str]) -> str:
    # One word: a keyword, or another short word that a person might say instead.
    words = " | ".join([*keywords, *OTHER_WORDS])
    return f"#JSGF V1.0;\ngrammar words;\npublic <word> = {words};\n"


class Spotter:
    """pocketsphinx keyword spotting over a stream of int16 mono samples, at any pace.

    No device and no clock: :meth:`feed` takes samples as they come (the microphone's
    blocks in the child, a whole rendered routine in a test) and returns each keyword
    heard as ``(word, first, last)``, sample indices at ``samplerate`` since the start:
    found by the kws search, loud enough (the gate), and confirmed by the second pass,
    which waits until the word has ended.
    """

    def __init__(self, thresholds: dict[str, float], samplerate: int = SAMPLERATE) -> None:
        import numpy as np
        from pocketsphinx import Decoder

        with _keyword_file(thresholds) as kws:
            self._decoder = Decoder(kws=kws, samprate=SAMPLERATE, loglevel="FATAL")
        # The second pass: the same acoustic model with a grammar of one word.
        self._verifier = Decoder(samprate=SAMPLERATE, loglevel="FATAL")
        self._verifier.add_jsgf_string("words", _verifier_grammar(thresholds))
        self._verifier.activate_search("words")
        self._keywords = frozenset(thresholds)
        self._pending: list[tuple[int, int]] = []  # found, not yet heard again
        self._verified_to = 0  # the end of the last sound heard again
        self._recent = np.zeros(0, dtype=np.int16)  # the last RECENT_S of decoded audio
        self.rejected = 0  # keywords the second pass heard as another word
        self._rng = np.random.default_rng()
        self._scale = samplerate / SAMPLERATE
        self._resampler: Any = None
        if samplerate != SAMPLERATE:
            import soxr

            self._resampler = soxr.ResampleStream(samplerate, SAMPLERATE, 1, dtype="int16")
        self._fed = 0  # 16 kHz samples given to the decoder so far
        self._utterance_base = 0  # `_fed` when the current utterance started
        self._decoder.start_utt()
        # The loudness of each 20 ms frame over the last LOUDNESS_WINDOW_S, for the gate.
        self._frame_rms: deque[float] = deque(maxlen=round(LOUDNESS_WINDOW_S / FRAME_S))
        self._carry = np.zeros(0, dtype=np.float64)  # samples short of a whole frame
        self.quiet_hits = 0  # keywords found in sound no louder than the background

    def feed(self, samples: Any) -> list[tuple[str, int, int]]:
        """Decode ``samples`` (int16, mono, at ``samplerate``); the keywords they complete."""
        import numpy as np

        if self._resampler is not None:
            samples = self._resampler.resample_chunk(samples)
        noisy = samples + self._rng.normal(0.0, NOISE_FLOOR, len(samples))
        pcm = np.clip(noisy, -32768, 32767).astype(np.int16)
        decoder = self._decoder
        decoder.process_raw(pcm.tobytes(), False, False)
        self._measure(pcm)
        self._fed += len(pcm)
        keep = round(RECENT_S * SAMPLERATE)
        self._recent = np.concatenate([self._recent, pcm])[-keep:]
        found = self._verified()
        if decoder.hyp() is None:
            return found
        for segment in decoder.seg():
            first = self._utterance_base + segment.start_frame * FRAME_SAMPLES
            last = self._utterance_base + (segment.end_frame + 1) * FRAME_SAMPLES
            if self._spoken(first, last):
                self._pending.append((first, last))
            else:
                self.quiet_hits += 1
        # A fresh utterance, so the same sound is not found twice.
        decoder.end_utt()
        decoder.start_utt()
        self._utterance_base = self._fed
        return found + self._verified()

    def _input_span(self, first: int, last: int) -> tuple[int, int]:
        return round(first * self._scale), round(last * self._scale)

    def _verified(self) -> list[tuple[str, int, int]]:
        # Each keyword found is heard again, whole, once the sound around it has ended.
        found = []
        while self._pending:
            first, last = self._pending[0]
            region = self._region(first, last)
            if region is None:
                break  # still sounding: wait for more audio
            self._pending.pop(0)
            start, end = region
            if start < self._verified_to:
                continue  # the same sound as a keyword already heard again: one report
            self._verified_to = end
            word = self._verify(start, end)
            if word in self._keywords:
                found.append((word, *self._input_span(first, last)))
            else:
                self.rejected += 1
        return found

    def _frames(self) -> tuple[Any, int, float]:
        """The frame loudness known, the index of its first frame, and the speech level."""
        import numpy as np

        frame = round(FRAME_S * SAMPLERATE)
        known = np.asarray(self._frame_rms)
        oldest = (self._fed - len(self._carry)) // frame - len(known)
        background = float(np.percentile(known, BACKGROUND_PERCENTILE)) if len(known) else 0.0
        return known, oldest, max(background, 1.0) * 10 ** (SPOKEN_OVER_BACKGROUND_DB / 20)

    def _region(self, first: int, last: int) -> tuple[int, int] | None:
        """The sound a keyword was found in, 16 kHz samples; ``None`` while it goes on.

        From the loudest frame near the keyword, out to where the sound stays below the
        speech level for WORD_GAP_S (a word's own stops are shorter), padded with silence.
        """
        import numpy as np

        frame = round(FRAME_S * SAMPLERATE)
        known, oldest, level = self._frames()
        gap = round(WORD_GAP_S / FRAME_S)
        lo = max(0, (first - round(SPOKEN_LOOKBACK_S * SAMPLERATE)) // frame - oldest)
        hi = min(len(known), last // frame - oldest + 1)
        if hi <= lo:
            return first, last
        peak = lo + int(np.argmax(known[lo:hi]))
        loud = known >= level
        start = peak
        while start > 0 and loud[max(0, start - gap) : start].any():
            start -= 1
        end = peak
        while end < len(known) - 1 and loud[end + 1 : end + 1 + gap].any():
            end += 1
        longest = round(WORD_LONGEST_S / FRAME_S)
        if end + gap >= len(known) and end - start < longest:
            return None
        before = round(WORD_PAD_BEFORE_S * SAMPLERATE)
        after = round(WORD_PAD_AFTER_S * SAMPLERATE)
        return (oldest + start) * frame - before, (oldest + end + 1) * frame + after

    def _verify(self, start: int, end: int) -> str:
        """The word a closed-set grammar hears in 16 kHz samples ``start`` to ``end``."""
        base = self._fed - len(self._recent)
        audio = self._recent[max(0, start - base) : max(0, end - base)]
        verifier = self._verifier
        verifier.start_utt()
        verifier.process_raw(audio.tobytes(), False, True)
        verifier.end_utt()
        hyp = verifier.hyp()
        return "" if hyp is None else str(hyp.hypstr).strip()

    def _measure(self, pcm: Any) -> None:
        import numpy as np

        frame = round(FRAME_S * SAMPLERATE)
        data = np.concatenate([self._carry, pcm.astype(np.float64)])
        whole = len(data) // frame * frame
        if whole:
            frames = data[:whole].reshape(-1, frame)
            self._frame_rms.extend(np.sqrt(np.mean(frames * frames, axis=1)).tolist())
        self._carry = data[whole:]

    def _spoken(self, first: int, last: int) -> bool:
        """Whether the sound from 16 kHz sample ``first`` to ``last`` stands above the
        background by SPOKEN_OVER_BACKGROUND_DB (a word said, not noise that fits one)."""
        frame = round(FRAME_S * SAMPLERATE)
        known, oldest, level = self._frames()
        start = first - round(SPOKEN_LOOKBACK_S * SAMPLERATE)
        span = known[max(0, start // frame - oldest) : max(0, last // frame - oldest + 1)]
        if not len(span):
            return True  # nothing measured to judge by: the decoder's word stands
        return bool(span.max() >= level)


def listen(device: int | None, out: IO[str], thresholds: dict[str, float]) -> None:
    """The child's loop: microphone -> decoder -> one JSON line per keyword on ``out``."""
    import numpy as np

    sd = sounddevice_module()
    stop = threading.Event()
    threading.Thread(target=_watch_stdin, args=(stop,), daemon=True).start()

    blocks: queue.Queue[tuple[bytes, float]] = queue.Queue()
    lost: list[str] = []

    def callback(indata: Any, frames: int, time_info: Any, status: Any) -> None:
        arrival = time.monotonic()
        blocks.put((bytes(indata), arrival))

    def finished() -> None:
        if not stop.is_set():
            lost.append("the microphone stopped")

    samplerate = SAMPLERATE
    try:
        stream = _open_stream(sd, device, SAMPLERATE, callback, finished)
    except sd.PortAudioError:
        # A device that cannot run at 16 kHz (raw ALSA): open it at its own rate; the
        # spotter resamples. PulseAudio and PipeWire devices take 16 kHz directly.
        samplerate = int(sd.query_devices(device, "input")["default_samplerate"])
        try:
            stream = _open_stream(sd, device, samplerate, callback, finished)
        except sd.PortAudioError as exc:
            _send(out, {"error": f"could not open the microphone: {exc}"})
            return
    clock = _Clock(samplerate)
    captured = 0  # microphone frames so far
    ready = False
    try:
        # Built while the first blocks queue up: they are decoded as soon as it is ready.
        spotter = Spotter(thresholds, samplerate)
        while not stop.is_set():
            try:
                data, arrival = blocks.get(timeout=SILENT_DEVICE_S)
            except queue.Empty:
                lost.append("the microphone sent no sound for 3 s")
            if lost:
                _send(out, {"error": f"listening stopped: {lost[0]}"})
                return
            samples = np.frombuffer(data, dtype=np.int16)
            captured += len(samples)
            clock.arrived(arrival, captured)
            hits = spotter.feed(samples)
            if not ready:
                ready = True
                _send(out, {"ready": time.monotonic()})
            for word, first, last in hits:
                _send(out, {"hit": word, "start": clock.time_of(first), "end": clock.time_of(last)})
    finally:
        stream.close()


def _open_stream(
    sd: Any,
    device: int | None,
    samplerate: int,
    callback: Callable[[Any, int, Any, Any], None],
    finished: Callable[[], None],
) -> Any:
    stream = sd.RawInputStream(
        samplerate=samplerate,
        channels=1,
        dtype="int16",
        device=device,
        blocksize=round(BLOCK_FRAMES * samplerate / SAMPLERATE),
        callback=callback,
        finished_callback=finished,
    )
    stream.start()
    return stream


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m voicecoach.listening [--device SPEC]``: the child; JSON lines on stdout."""
    parser = argparse.ArgumentParser(prog="python -m voicecoach.listening")
    parser.add_argument("--device", default=None, help="an index or part of a name")
    args = parser.parse_args(argv)
    out = sys.stdout
    try:
        listen(resolve_input_device(args.device), out, THRESHOLDS)
    except (VoicecoachError, OSError, RuntimeError) as exc:
        with contextlib.suppress(OSError):
            _send(out, {"error": f"listening stopped: {exc}"})
        return 1
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
