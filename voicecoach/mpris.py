"""Media keys and earbud buttons on Linux: the session published as an MPRIS player.

A Bluetooth headset's play/pause button (forwarded by BlueZ), a keyboard's media keys and
the desktop's media widget all talk to players over D-Bus through MPRIS
(``org.mpris.MediaPlayer2``). `MediaKeys` publishes one on the session bus while a
session plays, and turns the calls into the same `Command`\\ s as the keys:

=============== ===================================================================
PlayPause       Space (pause, or resume with its countdown inside work)
Pause / Play    pause only / resume only: a button pressed twice never flips it back
Next / Previous n / b
Stop, Quit      q: never a pain stop, which stays a deliberate act
=============== ===================================================================

The bus runs on an asyncio loop in its own thread (dbus-fast): a call reaches the mixer's
command queue in about a millisecond, with nothing on the audio path. Without a session
bus (or without dbus-fast, as on macOS and Windows) it stays silent: play runs as before.
"""

# No `from __future__ import annotations`: dbus-fast reads the D-Bus signatures from the
# annotations of the interfaces below, which are built inside a function, so they must be
# real objects, not names to look up in this module.
import asyncio
import contextlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Annotated, Any

from voicecoach.commands import Command
from voicecoach.nowplaying import NowPlaying

BUS_NAME = "org.mpris.MediaPlayer2.voicecoach"
OBJECT_PATH = "/org/mpris/MediaPlayer2"
TRACK_PATH = "/org/voicecoach/track/"
IDENTITY = "voicecoach"
# A bus that accepts the connection but never answers must not keep a thread waiting
# for the whole session.
CONNECT_TIMEOUT_S = 2.0
# A position further than this from where it should be (b, a restarted hold) is a seek:
# widgets extrapolate while playing, so they are told.
SEEK_TOLERANCE_S = 1.0


class MediaKeys:
    """An MPRIS player on the session bus for one session (start, update, close).

    ``on_command`` is called on the bus thread for each call; keep it quick. ``update``
    is called by the player as the session moves (any thread); it sends the
    ``PropertiesChanged`` signals that widgets follow. ``bus_name`` is the name taken
    (``None`` until then, or when there is no bus); ``problem`` says why not.
    """

    def __init__(self, on_command: Callable[[Command], None], now: NowPlaying) -> None:
        self.on_command = on_command
        self.bus_name: str | None = None
        self.problem = ""
        self._now = now
        self._now_at = time.monotonic()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._done: asyncio.Event | None = None
        self._publish: Callable[[NowPlaying, NowPlaying, bool], None] | None = None
        self._thread: threading.Thread | None = None
        self.ready = threading.Event()  # set once serving, or once it gave up

    def start(self) -> "MediaKeys":
        """Connect and publish in the background; returns at once, never raises."""
        self._thread = threading.Thread(target=self._run, name="voicecoach-mpris", daemon=True)
        self._thread.start()
        return self

    def update(self, now: NowPlaying) -> None:
        """The session moved: keep ``now`` for readers and signal what changed."""
        at = time.monotonic()
        old, old_at = self._now, self._now_at
        self._now, self._now_at = now, at
        expected = old.position_s + (at - old_at if old.status == "Playing" else 0.0)
        seeked = now.track == old.track and abs(now.position_s - expected) > SEEK_TOLERANCE_S
        loop, publish = self._loop, self._publish
        # The position moves on every update: widgets extrapolate it, so the bus thread
        # is woken only when something they show changed, or on a seek.
        shown = replace(old, position_s=0.0) != replace(now, position_s=0.0)
        if loop is not None and publish is not None and (shown or seeked):
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(publish, old, now, seeked)

    def position_s(self) -> float:
        """Where the session is in the current track, moved on by the time since the update."""
        now = self._now
        moved = time.monotonic() - self._now_at if now.status == "Playing" else 0.0
        return min(now.length_s, now.position_s + moved)

    def now(self) -> NowPlaying:
        """The latest snapshot."""
        return self._now

    def close(self, timeout: float = 1.0) -> None:
        """Leave the bus (the name is released) and end the thread; idempotent."""
        loop, done = self._loop, self._done
        if loop is not None and done is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(done.set)
        if self._thread is not None:
            self._thread.join(timeout)

    def call(self, command: Command) -> None:
        """A method call from the bus: forward it (errors must not reach the client)."""
        self.on_command(command)

    # -- the bus thread -----------------------------------------------------------------
    def _run(self) -> None:
        try:
            loop = asyncio.new_event_loop()
        except Exception as error:  # pragma: no cover - no event loop at all
            self._give_up(f"no event loop: {error}")
            return
        try:
            loop.run_until_complete(self._serve(loop))
        except Exception as error:
            # No bus, a refused connection, a bus that never answered: play on without.
            self._give_up(str(error) or type(error).__name__)
        finally:
            self._loop = None
            loop.close()
            self.ready.set()

    def _give_up(self, why: str) -> None:
        self.problem = why
        self.ready.set()

    async def _serve(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            from dbus_fast import BusType, NameFlag, RequestNameReply
            from dbus_fast.aio import MessageBus
        except ImportError:
            self._give_up("dbus-fast is not installed")
            return
        if not _has_session_bus():
            self._give_up("no session bus")
            return
        bus = await asyncio.wait_for(
            MessageBus(bus_type=BusType.SESSION).connect(), CONNECT_TIMEOUT_S
        )
        try:
            root, player = _interfaces(self)
            bus.export(OBJECT_PATH, root)
            bus.export(OBJECT_PATH, player)
            name = BUS_NAME
            reply = await bus.request_name(name, NameFlag.DO_NOT_QUEUE)
            if reply is not RequestNameReply.PRIMARY_OWNER:
                # Another voicecoach has the plain name: the MPRIS way to be a second one.
                name = f"{BUS_NAME}.instance{os.getpid()}"
                reply = await bus.request_name(name, NameFlag.DO_NOT_QUEUE)
                if reply is not RequestNameReply.PRIMARY_OWNER:
                    self._give_up(f"the bus name {name} is taken")
                    return
            self._done = asyncio.Event()
            self._publish = player.publish
            self._loop = loop
            self.bus_name = name
            self.ready.set()
            player.publish(self._now, self._now, False)
            await self._done.wait()
        finally:
            self._publish = None
            bus.disconnect()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(bus.wait_for_disconnect(), 1.0)  # type: ignore[no-untyped-call]


def _has_session_bus() -> bool:
    """Whether a session bus can exist here: its address is set, or the usual socket is."""
    if os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        return True
    runtime = os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}"
    return os.path.exists(os.path.join(runtime, "bus"))


def metadata(now: NowPlaying) -> dict[str, Any]:
    """The MPRIS ``Metadata`` of a snapshot, as plain values keyed by their signature.

    ``mpris:length`` is in microseconds; ``xesam:artist`` is a list, as the spec has it.
    """
    return {
        "mpris:trackid": ("o", f"{TRACK_PATH}{now.track}"),
        "mpris:length": ("x", round(now.length_s * 1e6)),
        "xesam:title": ("s", now.title),
        "xesam:artist": ("as", [now.artist]),
        "xesam:album": ("s", now.artist),
    }


def _interfaces(keys: "MediaKeys") -> tuple[Any, Any]:
    """The two MPRIS interfaces, built once dbus-fast is imported (in the bus thread)."""
    from dbus_fast import Variant
    from dbus_fast.annotations import (
        DBusBool,
        DBusDict,
        DBusDouble,
        DBusInt64,
        DBusObjectPath,
        DBusSignature,
        DBusStr,
    )
    from dbus_fast.constants import PropertyAccess
    from dbus_fast.service import ServiceInterface, dbus_property, dbus_signal
    from dbus_fast.service import dbus_method as method

    DBusStrings = Annotated[list[str], DBusSignature("as")]
    read = PropertyAccess.READ

    def variants(now: NowPlaying) -> dict[str, Variant]:
        return {k: Variant(sig, value) for k, (sig, value) in metadata(now).items()}

    # D-Bus member names are CamelCase by the MPRIS spec.
    class Root(ServiceInterface):
        """org.mpris.MediaPlayer2: who we are; no window to raise, no track list."""

        def __init__(self) -> None:
            super().__init__("org.mpris.MediaPlayer2")

        @method()
        def Raise(self) -> None:
            pass

        @method()
        def Quit(self) -> None:
            keys.call(Command.QUIT)

        @dbus_property(access=read)
        def CanQuit(self) -> DBusBool:
            return True

        @dbus_property(access=read)
        def CanRaise(self) -> DBusBool:
            return False

        @dbus_property(access=read)
        def HasTrackList(self) -> DBusBool:
            return False

        @dbus_property(access=read)
        def Identity(self) -> DBusStr:
            return IDENTITY

        @dbus_property(access=read)
        def SupportedUriSchemes(self) -> DBusStrings:
            return []

        @dbus_property(access=read)
        def SupportedMimeTypes(self) -> DBusStrings:
            return []

    class Player(ServiceInterface):
        """org.mpris.MediaPlayer2.Player: the controls and what is playing."""

        def __init__(self) -> None:
            super().__init__("org.mpris.MediaPlayer2.Player")

        @method()
        def PlayPause(self) -> None:
            keys.call(Command.PAUSE)

        @method()
        def Pause(self) -> None:
            keys.call(Command.PAUSE_ONLY)

        @method()
        def Play(self) -> None:
            keys.call(Command.RESUME)

        @method()
        def Stop(self) -> None:
            keys.call(Command.QUIT)

        @method()
        def Next(self) -> None:
            keys.call(Command.NEXT)

        @method()
        def Previous(self) -> None:
            keys.call(Command.BACK)

        # CanSeek is false: a hold's clock is the training itself, never scrubbed.
        @method()
        def Seek(self, offset: DBusInt64) -> None:
            pass

        @method()
        def SetPosition(self, track: DBusObjectPath, position: DBusInt64) -> None:
            pass

        @method()
        def OpenUri(self, uri: DBusStr) -> None:
            pass

        @dbus_signal()
        def Seeked(self, position: DBusInt64) -> DBusInt64:
            return position

        @dbus_property(access=read)
        def PlaybackStatus(self) -> DBusStr:
            return keys.now().status

        @dbus_property(access=read)
        def Metadata(self) -> DBusDict:
            return variants(keys.now())

        @dbus_property(access=read)
        def Position(self) -> DBusInt64:
            return round(keys.position_s() * 1e6)

        # Rate and volume are fixed: a coach at 1.3x would shorten the holds.
        @dbus_property(access=read)
        def Rate(self) -> DBusDouble:
            return 1.0

        @dbus_property(access=read)
        def MinimumRate(self) -> DBusDouble:
            return 1.0

        @dbus_property(access=read)
        def MaximumRate(self) -> DBusDouble:
            return 1.0

        @dbus_property(access=read)
        def Volume(self) -> DBusDouble:
            return 1.0

        @dbus_property(access=read)
        def CanGoNext(self) -> DBusBool:
            return keys.now().can_next

        @dbus_property(access=read)
        def CanGoPrevious(self) -> DBusBool:
            return keys.now().can_previous

        @dbus_property(access=read)
        def CanPlay(self) -> DBusBool:
            return keys.now().can_play

        @dbus_property(access=read)
        def CanPause(self) -> DBusBool:
            return keys.now().can_pause

        @dbus_property(access=read)
        def CanSeek(self) -> DBusBool:
            return False

        @dbus_property(access=read)
        def CanControl(self) -> DBusBool:
            return True

        def publish(self, old: NowPlaying, new: NowPlaying, seeked: bool) -> None:
            """Signal what changed from ``old`` to ``new``, and a seek (b, a restarted hold)."""
            changed: dict[str, Any] = {}
            if new.status != old.status:
                changed["PlaybackStatus"] = new.status
            if metadata(new) != metadata(old):
                changed["Metadata"] = variants(new)
            for prop, a, b in (
                ("CanGoNext", old.can_next, new.can_next),
                ("CanGoPrevious", old.can_previous, new.can_previous),
                ("CanPlay", old.can_play, new.can_play),
                ("CanPause", old.can_pause, new.can_pause),
            ):
                if a != b:
                    changed[prop] = b
            if changed:
                self.emit_properties_changed(changed)
            if seeked:
                self.Seeked(round(new.position_s * 1e6))

    return Root(), Player()
