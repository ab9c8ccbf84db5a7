"""Where things live: shipped routines and the user's cache, data and config directories."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP = "voicecoach"
_PACKAGE = Path(__file__).resolve().parent


def shipped_scripts_dir() -> Path:
    """The shipped routines: inside an installed wheel, else the checkout's ``scripts/``."""
    inside = _PACKAGE / "_scripts"
    return inside if inside.is_dir() else _PACKAGE.parent / "scripts"


def shipped_routines() -> dict[str, Path]:
    """Shipped routines by name (file stem), e.g. ``back-basics``."""
    folder = shipped_scripts_dir()
    return {p.stem: p for p in sorted(folder.glob("*.toml"))} if folder.is_dir() else {}


def find_routine(spec: str) -> Path:
    """The file a routine argument names: a path, or else the name of a shipped routine.

    A path that does not exist is returned as is, so the loader reports it missing.
    """
    path = Path(spec)
    if path.exists():
        return path
    shipped = shipped_routines()
    return shipped.get(path.stem if path.suffix == ".toml" and path.parent == Path() else spec,
                       path)


def cache_dir() -> Path:
    """The user's cache directory (``VOICECOACH_CACHE_DIR`` overrides it)."""
    env = os.environ.get("VOICECOACH_CACHE_DIR")
    return Path(env) if env else Path(platformdirs.user_cache_dir(APP))


def config_dir() -> Path:
    """The user's config directory (``VOICECOACH_CONFIG_DIR`` overrides it)."""
    env = os.environ.get("VOICECOACH_CONFIG_DIR")
    return Path(env) if env else Path(platformdirs.user_config_dir(APP))
