"""The pull contract between the mixer and every sink (sound card, file, text clock)."""

from __future__ import annotations

from typing import Protocol

import numpy as np


class Source(Protocol):
    """Something a sink pulls sample blocks from, python-sounddevice callback style.

    ``fill`` must write every frame of ``outdata`` (float32, shape ``(frames, channels)``),
    never block, never touch files, and return ``False`` once the session has ended (the
    block is still fully written, with silence after the end).
    """

    samplerate: int
    channels: int

    def fill(self, outdata: np.ndarray) -> bool:
        """Write the next ``len(outdata)`` frames; ``False`` when the session is over."""
        ...
