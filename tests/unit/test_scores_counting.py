"""Lab 5's progress over the stream: a game per step until the totals equal the records, and a
timeout that says what differs (a game counted twice is not a count that caught up)."""

import pandas as pd
import pytest

from workshop.core.waiting import WaitTimeout
from workshop.lab_helpers import scores

EXPECTED = pd.DataFrame(
    {"TotalScore": [900, 400], "GamesPlayed": [2, 1], "BestScore": [500, 400]}, index=["ana#1", "bo#2"]
)


def _totals(games: list[int], total: list[int], best: list[int]) -> pd.DataFrame:
    return pd.DataFrame({"TotalScore": total, "GamesPlayed": games, "BestScore": best}, index=EXPECTED.index)


def test_one_step_per_game_counted_until_the_totals_equal_the_records():
    seen = iter([_totals([0, 0], [0, 0], [0, 0]), _totals([1, 1], [400, 400], [400, 400]), EXPECTED.copy()])
    steps = list(scores.counting(lambda players: next(seen), EXPECTED, timeout=5, interval=0))
    assert steps == [0, 1, 2]


def test_a_game_counted_twice_is_named_at_the_timeout():
    twice = _totals([3, 1], [1300, 400], [500, 400])
    with pytest.raises(WaitTimeout) as error:
        list(scores.counting(lambda players: twice, EXPECTED, timeout=0, interval=0))
    message = str(error.value)
    assert "4 games counted for 3 played (some were counted more than once)" in message
    assert "TotalScore differs for 1 player" in message and "GamesPlayed differs for 1 player" in message
    assert "BestScore" not in message


def test_games_not_yet_counted_and_a_best_score_not_yet_raised_are_named():
    assert scores.difference(_totals([2, 1], [900, 400], [400, 400]), EXPECTED) == (
        "3 games counted for 3 played; BestScore differs for 1 player"
    )
    assert scores.difference(_totals([1, 1], [400, 400], [400, 400]), EXPECTED).startswith(
        "2 games counted for 3 played (the rest not counted yet)"
    )
