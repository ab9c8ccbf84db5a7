"""Where things live: shipped routines and the user's cache, data and config directories."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP = "voicecoach"
DATA_DIR_ENV = "VOICECOACH_DATA_DIR"
CACHE_DIR_ENV = "VOICECOACH_CACHE_DIR"
CONFIG_DIR_ENV = "VOICECOACH_CONFIG_DIR"
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
    return shipped.get(
        path.stem if path.suffix == ".toml" and path.parent == Path() else spec, path
    )


# The user's directories all come from platformdirs with appauthor=False: no author folder,
# so on Windows they sit under %LOCALAPPDATA%\voicecoach (not voicecoach\voicecoach);
# elsewhere platformdirs has no author folder anyway.


def data_dir() -> Path:
    """The user's data directory, home of the history (``VOICECOACH_DATA_DIR`` overrides it).

    The command line's ``--data-dir`` (the same variable, read by Click) comes first.
    """
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir(APP, appauthor=False))


def cache_dir() -> Path:
    """The user's cache directory (``VOICECOACH_CACHE_DIR`` overrides it)."""
    env = os.environ.get(CACHE_DIR_ENV)
    return Path(env) if env else Path(platformdirs.user_cache_dir(APP, appauthor=False))


def config_dir() -> Path:
    """The user's config directory (``VOICECOACH_CONFIG_DIR`` overrides it)."""
    env = os.environ.get(CONFIG_DIR_ENV)
    return Path(env) if env else Path(platformdirs.user_config_dir(APP, appauthor=False))
