"""voicecoach works with no network at all: rendering and text play never open a socket.

Why a fake rather than a real network cut: an empty network namespace (``unshare -n``)
needs privileges that CI containers do not grant. Instead a ``sitecustomize.py`` on
PYTHONPATH, which every Python process runs at start-up (the CLI and each speech worker
that ``multiprocessing`` spawns as a fresh interpreter), replaces ``socket.socket`` with
a class whose creation raises OSError and logs the attempt, and makes name lookups fail
too. Wrapping an existing descriptor stays allowed: that is how ``socket.socketpair()``
builds multiprocessing's local pipes, which never leave the machine. C libraries that
open sockets themselves (PortAudio's PulseAudio client) are out of its reach, which is
why only the sound-free paths (render to a file, ``--text``) are tested here.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import soundfile

from tests.conftest import REPO, VOICECOACH, write_routine

SITECUSTOMIZE = '''\
"""Test fake: no network. Every attempt to create a socket fails, and is logged."""
import os
import socket

_LOG = os.environ["VOICECOACH_TEST_SOCKET_LOG"]


def _note(what):
    with open(_LOG, "a") as log:
        log.write(f"{os.getpid()} {what}\\n")


class _NoNetworkSocket(socket.socket):
    def __init__(self, family=-1, type=-1, proto=-1, fileno=None):
        if fileno is None:
            _note(f"socket({family}, {type}) refused")
            raise OSError(101, "Network is unreachable (test: no sockets offline)")
        super().__init__(family, type, proto, fileno)


def _no_lookup(*args, **kwargs):
    _note(f"getaddrinfo{args} refused")
    raise socket.gaierror(socket.EAI_NONAME, "name lookup refused (test: offline)")


socket.socket = _NoNetworkSocket
socket.SocketType = _NoNetworkSocket
socket.getaddrinfo = _no_lookup
_note("started")
'''


def offline_env(tmp_path: Path, vc_env: dict[str, str]) -> tuple[dict[str, str], Path]:
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    log = tmp_path / "sockets.log"
    env = {
        **vc_env,
        "PYTHONPATH": f"{fake}:{REPO}",
        "VOICECOACH_TEST_SOCKET_LOG": str(log),
        # A cache of its own: every phrase is synthesized, in worker processes.
        "VOICECOACH_CACHE_DIR": str(tmp_path / "cache"),
    }
    return env, log


def test_the_fake_really_refuses_sockets(tmp_path, vc_env):
    env, log = offline_env(tmp_path, vc_env)
    probe = (
        "import socket\n"
        "for attempt in (socket.socket, lambda: socket.create_connection(('::1', 9))):\n"
        "    try:\n        attempt()\n"
        "    except OSError as e:\n        print('refused', e.errno)\n"
        "a, b = socket.socketpair()\n"  # local pipes, as multiprocessing makes them
        "a.sendall(b'ok'); print(b.recv(2).decode())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=30
    )
    assert done.stdout.split("\n")[:3] == ["refused 101", "refused -2", "ok"], done.stderr
    assert len([line for line in log.read_text().splitlines() if "refused" in line]) == 2


def test_render_and_text_play_work_with_every_socket_refused(tmp_path, vc_env):
    env, log = offline_env(tmp_path, vc_env)
    file = write_routine(tmp_path)
    out = tmp_path / "tiny.wav"
    rendered = subprocess.run(
        [*VOICECOACH, "render", file, "-o", out],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert rendered.returncode == 0, rendered.stderr
    audio, samplerate = soundfile.read(out)
    assert samplerate == 48_000
    assert len(audio) > 10 * samplerate
    assert abs(audio).max() > 0.1  # speech, synthesized offline

    played = subprocess.run(
        [*VOICECOACH, "play", "--text", "--speed", "200", file],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert played.returncode == 0, played.stderr
    assert "Preview complete" in played.stderr

    lines = log.read_text().splitlines()
    refused = [line for line in lines if "refused" in line]
    started = {line.split()[0] for line in lines if line.endswith("started")}
    print(f"\n{len(started)} Python processes ran offline, {len(refused)} socket attempts")
    assert refused == []
    # The CLI twice, plus the speech workers of the render: the fake reached them all.
    assert len(started) >= 3
