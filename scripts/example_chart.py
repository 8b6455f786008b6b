"""Draws the README's example chart, docs/images/trajectory.svg, from synthetic data only: a
made-up client's weekly PHQ-9 totals, scored and compared with the service's own rules, drawn by
the same code as GET /v1/clients/{id}/scores with Accept: image/svg+xml.

    python -m scripts.example_chart > docs/images/trajectory.svg

tests/test_readme.py checks that the committed picture is what this draws.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from services.questionnaires.domain import assess_change, load_builtin_instruments, score
from services.questionnaires.views import series_view, trajectory_chart
from shared.charts import render_svg

FIRST = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
WEEK = timedelta(days=7)
# Made-up item answers (PHQ-9 items 1-9, each 0-3), one set a week: a fall, a setback, recovery.
ANSWERS = (
    (2, 3, 2, 3, 2, 2, 2, 1, 0),
    (2, 2, 2, 2, 2, 2, 1, 1, 0),
    (1, 2, 1, 2, 1, 1, 1, 1, 0),
    (2, 3, 2, 2, 2, 2, 2, 1, 0),
    (1, 1, 1, 1, 1, 1, 1, 0, 0),
    (1, 1, 0, 1, 1, 0, 1, 0, 0),
    (0, 1, 0, 1, 0, 0, 1, 0, 0),
)


def example() -> str:
    phq9 = load_builtin_instruments()["phq9"]
    responses, baseline, previous = [], None, None
    for week, answers in enumerate(ANSWERS):
        scored = score(phq9, list(answers))
        change = assess_change(phq9, scored.total, baseline, previous)
        responses.append({
            "_id": f"example-{week}", "completed_at": FIRST + week * WEEK, "score": scored.to_dict(),
            "baseline": baseline is None, "change": change.to_dict(),
        })
        baseline = scored.total if baseline is None else baseline
        previous = scored.total
    now = FIRST + (len(ANSWERS) - 1) * WEEK + timedelta(days=1)
    due = [FIRST + week * WEEK for week in range(len(ANSWERS) + 1)]
    return render_svg(trajectory_chart("example-client", series_view(phq9, responses), due, now))


if __name__ == "__main__":
    print(example(), end="")
