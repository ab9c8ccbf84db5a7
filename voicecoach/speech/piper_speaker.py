"""The Piper engine in a worker process: one model loaded, phrases to trimmed mono clips.

Imported only inside the worker (it imports piper-tts and onnxruntime, the optional
``[piper]`` extra). Piper's per-sentence peak normalisation is turned off: it scales each
sentence to full scale, so "3" and the safety message would come out at different levels
and every clip at the limiter. The clips are left as the model makes them, and
`synthesis.voice_gain_db` brings the voice to the speech level like any other engine's.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from voicecoach.dsp import trim_silence
from voicecoach.model import Voice
from voicecoach.speech.piper import config_length_scale, length_scale, require_runtime
from voicecoach.speech.workers import Speaker, WorkerFailure


def make_speaker(
    model: Path, threads: int, settings: Voice, workdir: Path, timeout_s: float
) -> Speaker:
    """A speaker for the Piper ``model`` (``.onnx``, config beside it) on ``threads`` threads.

    Bound with `functools.partial` to its first two arguments, this is a
    `workers.SpeakerFactory`. Loading costs about 0.4 s and 270 MB of memory.
    """
    require_runtime()
    return _PiperSpeaker(model, threads, settings)


class _PiperSpeaker:
    def __init__(self, model: Path, threads: int, settings: Voice) -> None:
        import onnxruntime
        from piper import PiperVoice, SynthesisConfig
        from piper.config import PiperConfig

        config = json.loads(model.with_name(model.name + ".json").read_text(encoding="utf-8"))
        options = onnxruntime.SessionOptions()
        # Threads, not more processes: each process holds the model (about 270 MB). On 2
        # quiet cores one process on 2 threads made back-basics' 75 phrases in 9.0-9.9 s,
        # two processes on 1 thread each in 10.0 s, onnxruntime's default in 12.0 s.
        options.intra_op_num_threads = threads
        # Threads that spin while they wait for work lose badly when the cores are busy
        # with something else (13-27 s for the same work with the machine loaded, 12-19 s
        # without spinning, 17-18 s for two processes): they sleep instead.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            session = onnxruntime.InferenceSession(
                str(model), sess_options=options, providers=["CPUExecutionProvider"]
            )
            self.voice = PiperVoice(config=PiperConfig.from_dict(config), session=session)
        except Exception as exc:  # onnxruntime raises its own classes, one per cause
            raise WorkerFailure(
                "voice",
                f"The Piper voice {str(model)!r} cannot be loaded ({type(exc).__name__}: "
                f"{str(exc).strip()}). The file is damaged or is not a Piper voice: "
                "download it again, or choose another (`voicecoach voices`).",
            ) from exc
        self.samplerate = int(self.voice.config.sample_rate)
        # volume stays 1.0: the voice's gain and ``settings.volume`` are applied by
        # synthesis.voice_gain_db, the same way for every engine.
        self.config = SynthesisConfig(
            normalize_audio=False,
            length_scale=length_scale(settings.rate, config_length_scale(config)),
        )

    def speak(self, index: int, text: str) -> tuple[np.ndarray, int]:
        chunks = [c.audio_float_array for c in self.voice.synthesize(text, self.config)]
        if not chunks:
            raise WorkerFailure("failed", "the speech engine made no audio (nothing to say?)")
        # One chunk per sentence, each ending in the model's own pause: joined as they are.
        samples = np.concatenate(chunks).astype(np.float32, copy=False)
        return trim_silence(samples, self.samplerate), self.samplerate
