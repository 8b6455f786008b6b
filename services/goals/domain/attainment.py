"""Goal attainment scaling (GAS).

Each scaled goal gets five outcome levels, from -2 (much less than expected) through 0 (the
expected outcome) to +2 (much more than expected), each with a description agreed with the
client, and a weight for how much the goal matters. The latest ratings of a client's scaled
goals combine into one T-score.
"""

import math
from collections.abc import Mapping, Sequence
from typing import Any

LEVELS = (-2, -1, 0, 1, 2)
LEVEL_KEYS = tuple(str(level) for level in LEVELS)  # JSON object keys: "-2" ... "2"
DEFAULT_RHO = 0.3


def scale_errors(scale: Mapping[str, Any]) -> dict[str, list[str]]:
    """Validation errors of an attainment scale as {field: [message]}, empty when valid.

    `scale` is {"levels": {"-2": str, "-1": str, "0": str, "1": str, "2": str}, "weight": n}.
    All five levels must be present with non-empty descriptions and no others; `weight`
    (default 1 when absent) must be a number above 0.
    """
    errors: dict[str, list[str]] = {}
    levels = scale.get("levels")
    if not isinstance(levels, dict):
        errors["levels"] = ["Describe each level from -2 to 2."]
    else:
        messages = [f"Describe level {key}." for key in LEVEL_KEYS
                    if not (isinstance(levels.get(key), str) and levels[key].strip())]
        messages += [f"{key!r} is not a level; levels are -2, -1, 0, 1 and 2."
                     for key in levels if key not in LEVEL_KEYS]
        if messages:
            errors["levels"] = messages
    weight = scale.get("weight", 1)
    if not _positive_number(weight):
        errors["weight"] = ["The weight must be a number above 0."]
    return errors


def t_score(ratings: Sequence[tuple[int, float]], rho: float = DEFAULT_RHO) -> float | None:
    """The Kiresuk–Sherman T-score of a set of goal ratings, or None without ratings.

    Kiresuk, T. J. & Sherman, R. E. (1968). Goal attainment scaling: a general method for
    evaluating comprehensive community mental health programs. Community Mental Health
    Journal, 4(6), 443–453:

        T = 50 + 10 * sum(w_i * x_i) / sqrt((1 - rho) * sum(w_i^2) + rho * (sum(w_i))^2)

    with x_i the level (-2..2) of goal i, w_i its weight and rho the assumed correlation
    between goal scores; 0.3 is the value Kiresuk and Sherman recommend. T is 50 when every
    goal is at its expected level (0), with a standard deviation of about 10.

    `ratings` is a list of (level, weight) pairs. Raises ValueError for a level outside -2..2,
    a weight not above 0 or rho outside [0, 1).
    """
    if not ratings:
        return None
    if not 0 <= rho < 1:
        raise ValueError("rho must be at least 0 and below 1")
    for level, weight in ratings:
        if level not in LEVELS or isinstance(level, bool):
            raise ValueError(f"level {level!r} is not one of -2, -1, 0, 1, 2")
        if not _positive_number(weight):
            raise ValueError(f"weight {weight!r} must be above 0")
    weighted = sum(weight * level for level, weight in ratings)
    weights = [weight for _, weight in ratings]
    spread = math.sqrt((1 - rho) * sum(w * w for w in weights) + rho * sum(weights) ** 2)
    return 50 + 10 * weighted / spread


def _positive_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
