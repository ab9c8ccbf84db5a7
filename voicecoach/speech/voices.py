"""The pyttsx3 engine's voices: its identity, the install hint, listing and matching voices.

pyttsx3 drives the platform's own voices: espeak-ng on Linux, NSSpeechSynthesizer (nsss)
on macOS, SAPI5 on Windows. Nothing here speaks; see `speakers` and `espeak`.
"""

from __future__ import annotations

import difflib
import functools
import os
import platform
import sys
from collections.abc import Callable, Sequence
from typing import Any

from voicecoach.model import Voice
from voicecoach.speech.clips import SpeechUnavailable, VoiceInfo, VoiceNotFound

# The coach's voice when none is chosen, on espeak-ng (Linux). pyttsx3 would pick `gmw/en`
# (British) at 200 words a minute, measured at 216 on phrases of 6 or more words: fast for
# a calm coach, and harder for a US-trained ear. espeak-ng's rate setting runs about 3 %
# fast: 160 measured 164 words a minute on back-basics' 51 phrases of 6+ words (170
# measured 175), inside the 160-170 aimed at. macOS and Windows keep the system's default
# voice and rate, which their users chose.
DEFAULT_ESPEAK_VOICE = "gmw/en-us"
DEFAULT_ESPEAK_RATE = 160


def install_hint() -> str:
    """How to get a working speech backend on this platform."""
    if sys.platform.startswith("linux"):
        return (
            "Install espeak-ng and its library:\n"
            "  sudo apt-get install espeak-ng libespeak-ng1   (Debian, Ubuntu)\n"
            "  sudo dnf install espeak-ng                     (Fedora)\n"
            "then run voicecoach again."
        )
    if sys.platform == "darwin":
        return (
            "macOS ships its system voices with the OS; reinstall pyttsx3 "
            "(python -m pip install --force-reinstall pyttsx3) and try again."
        )
    if sys.platform == "win32":
        return (
            "Windows ships its system voices (SAPI5) with the OS; reinstall pyttsx3 "
            "(python -m pip install --force-reinstall pyttsx3) and try again."
        )
    return "Install espeak-ng (libespeak-ng), then reinstall pyttsx3 and try again."


def unavailable(exc: BaseException) -> SpeechUnavailable:
    """The error for an engine that failed to load with ``exc``, with the install hint."""
    return SpeechUnavailable(
        f"No speech engine is available ({type(exc).__name__}: {exc}).\n{install_hint()}"
    )


def driver_name() -> str:
    """pyttsx3's driver for this platform ("espeak", "nsss" or "sapi5"), without loading it."""
    try:
        from pyttsx3.engine import default_engine_by_sys_platform
    except ImportError:  # pyttsx3 before 2.99 chose the driver inside Engine
        return {"darwin": "nsss", "win32": "sapi5"}.get(sys.platform, "espeak")
    name: str = default_engine_by_sys_platform()  # pyttsx3 has no type hints
    return name


def distribution_version(name: str) -> str:
    """The installed version of distribution ``name`` (``"unknown"`` if it is not installed).

    Read from the name of its ``NAME-VERSION.dist-info`` folder on `sys.path` when there
    is one (what `importlib.metadata` finds first, without the 15 ms its import costs on
    every start); else `importlib.metadata` itself.
    """
    prefix = f"{name.replace('-', '_').casefold()}-"
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for found in names:
            if found.casefold().startswith(prefix) and found.endswith(".dist-info"):
                return found[len(prefix) : -len(".dist-info")]
    import importlib.metadata

    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


@functools.cache
def engine_identity() -> str:
    """Driver, pyttsx3 and engine versions, without starting an engine (part of cache keys).

    Raises
    ------
    SpeechUnavailable
        pyttsx3 cannot be imported, or the espeak-ng library cannot be loaded.
    """
    try:
        import pyttsx3  # noqa: F401  (fails here when pyttsx3 is missing or broken)
    except Exception as exc:
        raise unavailable(exc) from exc
    driver = driver_name()
    pyttsx3_version = distribution_version("pyttsx3")
    if driver == "espeak":
        try:
            # Importing the driver's binding only loads the library (dlopen); it does not
            # initialize espeak-ng, which stays the job of the worker processes.
            from pyttsx3.drivers import _espeak
        except Exception as exc:
            raise unavailable(exc) from exc
        try:
            engine_version = "espeak-ng " + _espeak.Info(None).decode()
        except Exception:  # the version is informative only
            engine_version = "espeak-ng unknown"
    else:
        engine_version = platform.platform()
    return f"{driver}; pyttsx3 {pyttsx3_version}; {engine_version}"


def with_defaults(settings: Voice) -> Voice:
    """``settings`` with this engine's defaults in place of ``None`` (espeak-ng only).

    On espeak-ng an unset voice is `DEFAULT_ESPEAK_VOICE` and an unset rate is
    `DEFAULT_ESPEAK_RATE`, whichever voice speaks; ``[routine] voice`` and ``--voice`` /
    ``--rate`` override each. Other drivers keep ``None`` (the system's own default).
    The defaults are filled in before the cache key is made, so changing them never
    plays a clip made with the old ones.
    """
    if driver_name() != "espeak":
        return settings
    return Voice(
        name=DEFAULT_ESPEAK_VOICE if settings.name is None else settings.name,
        rate=DEFAULT_ESPEAK_RATE if settings.rate is None else settings.rate,
        volume=settings.volume,
    )


def _language_code(raw: Any) -> str:
    # The espeak driver gives str codes; some drivers give bytes with a priority byte first.
    if isinstance(raw, bytes):
        return raw.lstrip(bytes(range(32))).decode("utf-8", errors="ignore")
    return str(raw)


def voice_infos(engine: Any) -> list[VoiceInfo]:
    """The voices ``engine`` reports (a pyttsx3 engine, or the espeak driver's class)."""
    voices = []
    for v in engine.getProperty("voices"):
        languages = tuple(_language_code(x) for x in (getattr(v, "languages", None) or ()))
        gender = getattr(v, "gender", None)
        voices.append(
            VoiceInfo(
                id=str(v.id),
                name=str(v.name or v.id),
                languages=languages,
                gender=str(gender) if gender else None,
            )
        )
    return voices


def match_voice(wanted: str, voices: Sequence[VoiceInfo]) -> str:
    """The id of the voice ``wanted`` names: an id, the end of an id, a name or a language.

    Raises
    ------
    VoiceNotFound
        Nothing matches; the message names close matches and ``voicecoach voices``.
    """
    key = wanted.strip().casefold()
    tiers: list[Callable[[VoiceInfo], bool]] = [
        lambda v: v.id.casefold() == key,
        lambda v: v.id.casefold().rsplit("/", 1)[-1] == key,  # "en-us" for "gmw/en-us"
        lambda v: v.name.casefold() == key,
        lambda v: key in (lang.casefold() for lang in v.languages),
    ]
    for matches in tiers:
        for voice in voices:
            if matches(voice):
                return voice.id
    labels = {v.id.casefold(): v.id for v in voices}
    labels.update({v.name.casefold(): v.name for v in voices})
    labels.update({v.id.casefold().rsplit("/", 1)[-1]: v.id for v in voices})
    close = [labels[c] for c in difflib.get_close_matches(key, list(labels), n=4, cutoff=0.6)]
    suggestion = f" Close matches: {', '.join(dict.fromkeys(close))}." if close else ""
    raise VoiceNotFound(
        f"Voice {wanted!r} is not installed.{suggestion} "
        f"Run `voicecoach voices` to list the installed voices."
    )


def init_engine() -> Any:
    """Start a pyttsx3 engine in this process, or raise :class:`SpeechUnavailable`."""
    try:
        import pyttsx3
    except Exception as exc:
        raise unavailable(exc) from exc
    try:
        return pyttsx3.init()
    except Exception as exc:  # e.g. RuntimeError when libespeak-ng1 is missing
        raise unavailable(exc) from exc


def list_voices() -> list[VoiceInfo]:
    """Every installed voice (131 with espeak-ng 1.51), in the engine's order.

    Starts an engine in this process (about 30 ms with espeak-ng); used by
    ``voicecoach voices`` and :func:`resolve_voice`, never on a cache hit.

    Raises
    ------
    SpeechUnavailable
        No speech backend; the message says what to install.
    """
    return voice_infos(init_engine())


def resolve_voice(name: str) -> str:
    """The engine id of a voice given by id or name, case-insensitively.

    ``"gmw/en-us"``, ``"en-us"`` and ``"English (America)"`` all give ``"gmw/en-us"``.

    Raises
    ------
    VoiceNotFound
        No installed voice matches; close matches and ``voicecoach voices`` are suggested.
    SpeechUnavailable
        No speech backend.
    """
    return match_voice(name, list_voices())
