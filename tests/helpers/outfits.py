"""Purchase logs with co-purchase signal by construction: who buys a top buys its other pieces next.

Training customers each buy two outfits (the top one day, the rest of the outfit the next) and one
of a few bestsellers; test customers bought an outfit's top and a bestseller, and their test day is
the rest of that outfit. Item-kNN must find the rest of the outfit; popularity cannot, because
every outfit sells about as often as any other.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from shopfuse.recommend import Event

DAY = 86_400.0
START = 1_590_969_600.0
"""2020-06-01 (UTC), inside the period of the shared H&M purchases."""


def outfit_log(
    outfits: Sequence[Sequence[str]],
    bestsellers: Sequence[str],
    *,
    train_users: int,
    test_users: int,
    seed: int = 0,
) -> tuple[list[Event], list[Event]]:
    """``(train, test)`` events over ``outfits`` (item ids, the top first)."""
    rng = random.Random(seed)
    train: list[Event] = []
    test: list[Event] = []

    def buy(user: str, outfit: Sequence[str], day: int, into: list[Event]) -> None:
        top, *rest = outfit
        train.append(Event(user, top, START + day * DAY))
        into.extend(Event(user, item, START + (day + 1) * DAY) for item in rest)

    for u in range(train_users):
        user = f"train-{u}"
        first, second = rng.sample(range(len(outfits)), 2)
        day = rng.randrange(20)
        buy(user, outfits[first], day, train)
        train.append(Event(user, rng.choice(bestsellers), START + (day + 4) * DAY))
        buy(user, outfits[second], day + 8, train)  # the last day: what the hybrid's weights are tuned on
    for u in range(test_users):
        user = f"test-{u}"
        day = 20 + rng.randrange(10)
        train.append(Event(user, rng.choice(bestsellers), START + (day - 1) * DAY))
        buy(user, outfits[u % len(outfits)], day, test)
    return train, test
