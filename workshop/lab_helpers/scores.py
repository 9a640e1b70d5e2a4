"""Game-score records for lab 5: a cohort of players, one record per game played.

Scores and game ids are deterministic for a given seed, so a notebook prints the same
leaderboard every run. Player names carry a gamer-tag discriminator (``ana#4821``) drawn
afresh on every call, so each call is a new cohort: a rerun never adds games to the
players of an earlier run, and each run can compare its totals exactly.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from workshop.core.waiting import WaitTimeout

NAMES = (
    "ana",
    "bo",
    "chen",
    "dara",
    "emeka",
    "farah",
    "goran",
    "hana",
    "ines",
    "jun",
    "kofi",
    "lena",
    "mateo",
    "nia",
    "oskar",
    "priya",
    "quinn",
    "rosa",
    "sami",
    "tariq",
    "uma",
    "vera",
    "wen",
    "yusuf",
)
SEASON_START = datetime(2026, 11, 1, tzinfo=UTC)


def cohort(players: int, seed: int | None = None) -> list[str]:
    """``players`` distinct player names, each with a fresh discriminator."""
    if not 1 <= players <= len(NAMES):
        raise ValueError(f"players must be between 1 and {len(NAMES)}, not {players}")
    base = random.Random(seed).sample(NAMES, players)
    tags = random.SystemRandom().sample(range(1000, 10000), players)
    return [f"{name}#{tag}" for name, tag in zip(base, tags, strict=True)]


def generate(count: int, players: int = 20, seed: int | None = None) -> list[dict[str, object]]:
    """``count`` game records (PlayerName, RecordID, Score, Level) as items for GameScoreRecords.

    Each player has a skill of their own, so the leaderboard has a shape; RecordID starts
    with the time the game ended, so a player's records sort in the order they were played.
    """
    rng = random.Random(seed)
    names = cohort(players, seed)
    skill = {name: rng.randint(200, 800) for name in names}
    records = []
    for n in range(count):
        name = rng.choice(names)
        ended = SEASON_START + timedelta(seconds=37 * n + rng.randint(0, 30))
        records.append(
            {
                "PlayerName": name,
                "RecordID": f"{ended:%Y-%m-%dT%H:%M:%SZ}-{rng.getrandbits(32):08x}",
                "Score": max(0, round(rng.gauss(skill[name], 120))),
                "Level": rng.randint(1, 12),
            }
        )
    return records


def counting(
    read_totals: Callable[[Any], Any], expected: Any, timeout: float = 120.0, interval: float = 0.2
) -> Iterator[int]:
    """One item per game counted so far, while the totals catch up with ``expected`` (a DataFrame
    of TotalScore, GamesPlayed and BestScore by player): what a progress bar iterates over while
    the stream is worked through. Ends once ``read_totals(players)`` equals ``expected``."""
    wanted = int(expected["GamesPlayed"].sum())
    shown, deadline = 0, time.monotonic() + timeout
    while True:
        totals = read_totals(expected.index)
        done = totals.equals(expected)
        counted = wanted if done else min(int(totals["GamesPlayed"].sum()), wanted)
        yield from range(shown, counted)
        shown = max(shown, counted)
        if done:
            return
        if time.monotonic() > deadline:
            raise WaitTimeout(
                f"Timed out after {timeout:g} s waiting for the totals to match the records: "
                f"{difference(totals, expected)}."
            )
        time.sleep(interval)


def difference(totals: Any, expected: Any) -> str:
    """What the totals lack or have too much of, against ``expected`` (both by player): games
    counted twice show as more games than were played, not as a count that caught up."""
    played, counted = int(expected["GamesPlayed"].sum()), int(totals["GamesPlayed"].sum())
    games = f"{counted} games counted for {played} played"
    if counted > played:
        games += " (some were counted more than once)"
    elif counted < played:
        games += " (the rest not counted yet)"
    off = []
    for column in expected.columns:
        players = int((totals[column] != expected[column]).sum())
        if players:
            off.append(f"{column} differs for {players} player{'' if players == 1 else 's'}")
    return "; ".join([games, *off])
