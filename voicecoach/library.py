"""The built-in exercise library: beginner doses and form cues that a routine can `use`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from voicecoach.model import Kind


@dataclass(frozen=True, slots=True)
class LibraryEntry:
    """One built-in exercise, as plain data.

    ``doses`` maps each kind the exercise can be done as to the routine keys of its
    beginner dose (``hold``, ``reps``, ``sets``, ``tempo``, ``duration``); the first kind
    is the default. ``keys`` are the routine keys shared by every kind (``sides``,
    ``side_labels``). Reps are per side, seconds are seconds.
    """

    slug: str
    name: str
    summary: str
    doses: Mapping[Kind, Mapping[str, Any]]
    cues: tuple[str, ...]
    keys: Mapping[str, Any]

    @property
    def kind(self) -> Kind:
        """The default kind (the first of ``doses``)."""
        return next(iter(self.doses))

    def routine_keys(self, kind: Kind | None = None) -> dict[str, Any]:
        """The exercise keys this entry provides for ``kind`` (default: its own kind).

        The result is a fresh dict in routine-file form (lists, not tuples), so a routine's
        own keys can be laid over it. A ``kind`` the entry has no dose for gets the shared
        keys only: the routine must then give the dose itself.
        """
        chosen = self.kind if kind is None else kind
        out: dict[str, Any] = {"name": self.name, "kind": chosen}
        out.update(self.keys)
        out.update(self.doses.get(chosen, {}))
        out["cues"] = list(self.cues)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}


def _entry(
    slug: str,
    name: str,
    summary: str,
    doses: dict[Kind, dict[str, Any]],
    cues: tuple[str, ...],
    **keys: Any,
) -> LibraryEntry:
    frozen_doses = MappingProxyType({k: MappingProxyType(v) for k, v in doses.items()})
    return LibraryEntry(slug, name, summary, frozen_doses, cues, MappingProxyType(keys))


# Beginner doses: short holds and few reps, grown over weeks by endurance (longer holds,
# more reps), never by load. Cues teach position first, then the brace with breathing,
# then the limit: stop before pain.
_ENTRIES = (
    _entry(
        "curl-up",
        "Curl-up",
        "Lying on the back, one knee bent, lift head and shoulders a little and hold.",
        {"hold": {"hold": 10, "reps": 5}},
        (
            "Hands under the low back to keep its natural curve; one knee bent, one leg long.",
            "Lift the head and shoulders just off the floor as one piece; no chin tuck.",
            "Brace and keep breathing through the hold, then lower slowly.",
        ),
    ),
    _entry(
        "side-plank",
        "Side plank",
        "On one forearm with knees bent, lift the hips into a straight line and hold.",
        {"hold": {"hold": 10, "reps": 3}},
        (
            "Elbow under the shoulder, knees bent to start, hips lifted in line with the body.",
            "Keep the hips stacked: no sagging, no rolling back.",
            "Breathe steadily while braced; come down before the form fades.",
        ),
        sides="each",
    ),
    _entry(
        "bird-dog",
        "Bird dog",
        "On hands and knees, reach one arm and the opposite leg long and hold.",
        {"hold": {"hold": 10, "reps": 4}},
        (
            "Hands under shoulders, knees under hips, spine neutral.",
            "Reach the arm and the opposite leg long, no higher than the back.",
            "Keep the hips level and keep breathing; sweep back slowly.",
        ),
        sides="alternate",
    ),
    _entry(
        "front-plank",
        "Front plank",
        "On forearms and toes (or knees), hold a straight line from head to heels.",
        {"hold": {"hold": 10, "reps": 3}},
        (
            "Elbows under shoulders, body straight from head to heels, or to the knees.",
            "Brace and squeeze the glutes; keep breathing.",
            "Stop before the low back sags or aches.",
        ),
    ),
    _entry(
        "dead-bug",
        "Dead bug",
        "On the back with arms up and knees over hips, reach the opposite arm and leg away.",
        {"reps": {"reps": 6, "tempo": 4}},
        (
            "Low back stays gently on the floor; ribs down.",
            "Reach the opposite arm and leg slowly, only as far as the back stays still.",
            "Breathe out as you reach, and keep the brace as you return.",
        ),
        sides="alternate",
    ),
    _entry(
        "leg-drops",
        "Leg drops",
        "On the back with knees over hips, lower one heel toward the floor and back.",
        {"reps": {"reps": 6, "tempo": 4}},
        (
            "Knees over hips, low back gently on the floor.",
            "Lower one heel slowly, only as far as the back stays flat.",
            "Breathe out as the leg goes down; stop before the back arches.",
        ),
        sides="alternate",
    ),
    _entry(
        "pallof-press",
        "Pallof press",
        "Side-on to a band at chest height, press the hands straight out and resist the twist.",
        {"hold": {"hold": 10, "reps": 4}, "reps": {"reps": 8, "tempo": 3}},
        (
            "Stand side-on to the band, feet hip-width, knees soft, brace.",
            "Press the hands straight out from the chest and do not let the band turn you.",
            "Hips and shoulders stay square; breathe steadily.",
        ),
        sides="each",
    ),
    _entry(
        "stir-the-pot",
        "Stir the pot",
        "Forearms on a ball in a plank, draw small slow circles.",
        {"timed": {"duration": 15, "sets": 1}},
        (
            "Forearms on the ball, body straight from head to heels, or to the knees.",
            "Draw small slow circles with the forearms; the hips stay still.",
            "Keep breathing while braced; stop if the back complains.",
        ),
        sides="each",
        side_labels=("clockwise", "counterclockwise"),
    ),
    _entry(
        "farmer-carry",
        "Farmer carry",
        "Walk tall holding a light weight in one hand.",
        {"timed": {"duration": 30, "sets": 2}},
        (
            "Stand tall, ribs down, shoulders back and down.",
            "Do not lean toward or away from the weight.",
            "Brace lightly and keep breathing as you walk; choose a light weight.",
        ),
        sides="each",
    ),
)

LIBRARY: Mapping[str, LibraryEntry] = MappingProxyType({e.slug: e for e in _ENTRIES})


def library_entries() -> list[LibraryEntry]:
    """Every built-in exercise, in a teaching order (the McGill big three first)."""
    return list(LIBRARY.values())
