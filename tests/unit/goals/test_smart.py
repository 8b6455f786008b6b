from datetime import date

import pytest

from services.goals.domain.smart import assess, infer_direction

TODAY = date(2025, 1, 6)
RANGES = {"phq9": (0, 27), "gad7": (0, 21)}
CRITERIA = ("specific", "measurable", "achievable", "realistic", "time_bound")


def check(draft, **kwargs):
    kwargs.setdefault("instrument_ranges", RANGES)
    return assess(draft, TODAY, **kwargs)


def mentions(suggestions, *words):
    return any(all(word in s.lower() for word in words) for s in suggestions)


MEDITATE = {
    "title": "Meditate for 10 minutes each day",
    "measure": {"kind": "duration", "unit": "minutes", "baseline": 0, "target": 10,
                "per": "day", "direction": "increase"},
    "start_date": "2025-01-06",
    "target_date": "2025-03-03",  # 56 days: 8 weeks
}


def test_shape_is_the_five_criteria_and_suggestions():
    result = check({"title": "be happier"})
    assert set(result) == set(CRITERIA) | {"suggestions"}
    for criterion in CRITERIA:
        assert set(result[criterion]) == {"ok", "reason"}
        assert isinstance(result[criterion]["ok"], bool)
        assert result[criterion]["reason"]


@pytest.mark.parametrize("title, vague_word", [("be happier", "happier"), ("reduce anxiety", "anxiety")])
def test_a_feeling_without_measure_or_date_is_not_specific_measurable_or_time_bound(title, vague_word):
    result = check({"title": title})
    assert not result["specific"]["ok"]
    assert vague_word in result["specific"]["reason"]
    assert not result["measurable"]["ok"]
    assert not result["time_bound"]["ok"]
    # Nothing to check them against: "can't tell yet" is not ok.
    assert not result["achievable"]["ok"]
    assert not result["realistic"]["ok"]
    suggestions = result["suggestions"]
    assert mentions(suggestions, "measure")
    assert mentions(suggestions, "target date")
    assert mentions(suggestions, "what you will do", "when, where")


def test_meditating_ten_minutes_a_day_with_a_date_passes_every_criterion():
    result = check(MEDITATE)
    assert result["measurable"] == {
        "ok": True, "reason": "Progress is measured as minutes per day, from 0 to 10 (increase)."}
    assert result["time_bound"]["ok"]
    assert "2025-03-03" in result["time_bound"]["reason"]
    assert result["specific"]["ok"]
    # 100% of the change in 8 weeks is 12.5% a week, under 25%.
    assert result["achievable"]["ok"]
    assert "12.5% change a week" in result["achievable"]["reason"]
    assert result["realistic"]["ok"]
    assert result["suggestions"] == []


def test_dates_may_be_date_objects():
    draft = {**MEDITATE, "start_date": date(2025, 1, 6), "target_date": date(2025, 3, 3)}
    assert check(draft) == check(MEDITATE)


def test_missing_start_date_means_today():
    draft = {key: value for key, value in MEDITATE.items() if key != "start_date"}
    assert check(draft) == check(MEDITATE)


SMOKING = {
    "title": "Smoke one less cigarette each day",
    "measure": {"kind": "count", "unit": "cigarettes", "baseline": 20, "target": 19, "per": "day"},
    "target_date": "2025-02-03",
}


def test_one_less_cigarette_is_read_as_a_decreasing_count():
    result = check(SMOKING)
    assert result["measurable"]["ok"]
    assert "(decrease)" in result["measurable"]["reason"]
    assert mentions(result["suggestions"], "set the direction", "decrease")
    assert infer_direction(SMOKING) == "decrease"


def test_direction_is_read_from_the_wording_when_there_is_no_measure():
    draft = {"title": SMOKING["title"]}
    assert infer_direction(draft) == "decrease"
    assert mentions(check(draft)["suggestions"], "decrease")
    assert infer_direction({"title": "Walk more"}) == "increase"
    assert infer_direction({"title": "More walks and less screen time"}) is None
    assert infer_direction({"title": "Walk the dog"}) is None


def test_an_explicit_direction_is_not_second_guessed():
    draft = {**SMOKING, "measure": {**SMOKING["measure"], "direction": "decrease"}}
    assert not mentions(check(draft)["suggestions"], "direction")


def test_a_direction_against_the_numbers_is_not_measurable():
    draft = {**SMOKING, "measure": {**SMOKING["measure"], "direction": "increase"}}
    result = check(draft)
    assert not result["measurable"]["ok"]
    assert "below the starting point" in result["measurable"]["reason"]
    assert "increase" in result["measurable"]["reason"]


@pytest.mark.parametrize("measure, words", [
    ({"kind": "instrument", "baseline": 16, "target": 9}, "which questionnaire"),
    ({"kind": "duration", "baseline": 0, "target": 10, "per": "day"}, "unit of time"),
    ({"kind": "count", "unit": "walks", "baseline": 3, "target": 3}, "same as the starting point"),
    ({"kind": "count", "unit": "walks"}, "starting point (baseline) and a target"),
    ({"kind": "count", "unit": "walks", "baseline": "3", "target": 5}, "as numbers"),
    ({"kind": "steps", "baseline": 1, "target": 5}, "not a kind of measure"),
    ({"kind": "count", "baseline": 1, "target": 5, "per": "year"}, "not a period"),
    ({"kind": "count", "baseline": 1, "target": 5, "direction": "up"}, "not a direction"),
])
def test_incomplete_or_unknown_measures_are_not_measurable(measure, words):
    result = check({"title": "Walk the dog", "measure": measure, "target_date": "2025-03-03"})
    assert not result["measurable"]["ok"]
    assert words in result["measurable"]["reason"]
    # Without a measurable measure the pace can't be judged.
    assert not result["achievable"]["ok"]


@pytest.mark.parametrize("title, description, ok", [
    ("Meditate", "", False),                 # one concrete word: an action without detail
    ("Stop smoking", "", True),              # action and object
    ("", "", False),
    ("Be happier", "Walk the dog every morning", True),  # the description gives the action
    ("Feel better and less anxious", "", False),          # only "less" is concrete
])
def test_specific_needs_at_least_two_concrete_words(title, description, ok):
    result = check({"title": title, "description": description})
    assert result["specific"]["ok"] is ok


def test_a_goal_over_three_months_without_steps_is_told_to_break_it_up():
    draft = {**MEDITATE, "target_date": "2025-06-30"}
    assert mentions(check(draft)["suggestions"], "smaller goals")
    assert not mentions(check(draft, subgoal_count=1)["suggestions"], "smaller goals")
    assert not mentions(check(draft, milestone_count=2)["suggestions"], "smaller goals")


def test_three_months_means_more_than_90_days():
    # 2025-01-06 + 90 days = 2025-04-06 (25 days left in January, 28 in February, 31 in March, 6).
    assert not mentions(check({**MEDITATE, "target_date": "2025-04-06"})["suggestions"], "smaller goals")
    assert mentions(check({**MEDITATE, "target_date": "2025-04-07"})["suggestions"], "smaller goals")


def test_stopping_smoking_in_two_weeks_is_not_achievable():
    draft = {"title": "Stop smoking", "target_date": "2025-01-20",
             "measure": {"kind": "count", "unit": "cigarettes", "baseline": 20, "target": 0,
                         "per": "day", "direction": "decrease"}}
    result = check(draft)
    # 20 -> 0 is a 100% change; over 2 weeks that is 50% a week, above 25%.
    assert not result["achievable"]["ok"]
    assert "100%" in result["achievable"]["reason"]
    assert "50% a week" in result["achievable"]["reason"]
    assert "25%" in result["achievable"]["reason"]
    # A 100% change at 25% a week needs 4 weeks: 28 days after 2025-01-06.
    assert mentions(result["suggestions"], "2025-02-03")


def test_the_pace_limit_itself_is_achievable():
    draft = {"title": "Stop smoking", "target_date": "2025-02-03",  # 28 days: 100% at 25% a week
             "measure": {"kind": "count", "unit": "cigarettes", "baseline": 20, "target": 0,
                         "per": "day", "direction": "decrease"}}
    assert check(draft)["achievable"]["ok"]


def test_starting_from_zero_is_measured_against_the_target():
    draft = {**MEDITATE, "measure": {**MEDITATE["measure"], "target": 30}, "target_date": "2025-01-13"}
    result = check(draft)
    # 0 -> 30 minutes in one week: 100% a week.
    assert not result["achievable"]["ok"]
    assert "100% a week" in result["achievable"]["reason"]


PHQ9 = {"kind": "instrument", "instrument": "phq9", "direction": "decrease"}


def test_a_phq9_drop_faster_than_a_tenth_of_its_range_per_week_is_not_achievable():
    draft = {"title": "Bring my PHQ-9 score down to 5", "target_date": "2025-01-20",
             "measure": {**PHQ9, "baseline": 20, "target": 5}}
    result = check(draft)
    # 15 points in 2 weeks = 7.5 a week; a tenth of 0-27 is 2.7 a week.
    assert not result["achievable"]["ok"]
    assert "7.5 points a week" in result["achievable"]["reason"]
    assert "2.7" in result["achievable"]["reason"]
    # 15 points at 2.7 a week needs 5.56 weeks = 38.9 days -> 39 days -> 2025-02-14.
    assert mentions(result["suggestions"], "2025-02-14")


def test_a_gradual_phq9_drop_is_achievable():
    draft = {"title": "Bring my PHQ-9 score below 10", "target_date": "2025-03-31",
             "measure": {**PHQ9, "baseline": 16, "target": 9}}
    # 7 points in 12 weeks: about 0.6 a week.
    result = check(draft)
    assert result["achievable"]["ok"]
    assert "0.6 points a week" in result["achievable"]["reason"]


def test_an_instrument_without_a_known_range_cannot_be_checked():
    draft = {"title": "Bring my PHQ-9 score below 10", "target_date": "2025-03-31",
             "measure": {**PHQ9, "baseline": 16, "target": 9}}
    result = check(draft, instrument_ranges={})
    assert not result["achievable"]["ok"]
    assert not result["realistic"]["ok"]
    assert "score range of phq9" in result["realistic"]["reason"]


@pytest.mark.parametrize("measure, words", [
    ({**PHQ9, "baseline": 16, "target": 30, "direction": "increase"}, "0–27"),
    ({"kind": "instrument", "instrument": "gad7", "baseline": 25, "target": 7}, "0–21"),
    ({"kind": "boolean", "baseline": 0, "target": 2}, "0 or 1"),
    ({"kind": "count", "unit": "drinks", "baseline": 3, "target": -1}, "negative"),
    ({"kind": "duration", "unit": "hours", "baseline": 6, "target": 25, "per": "day"}, "in a day"),
])
def test_targets_outside_what_the_measure_allows_are_not_realistic(measure, words):
    result = check({"title": "Track it well", "measure": measure, "target_date": "2025-06-30"})
    assert not result["realistic"]["ok"]
    assert words in result["realistic"]["reason"]


def test_a_yes_no_goal_is_realistic_and_has_no_pace_to_check():
    draft = {"title": "Call my sister", "target_date": "2025-02-03",
             "measure": {"kind": "boolean", "baseline": 0, "target": 1}}
    result = check(draft)
    assert result["realistic"]["ok"]
    assert result["achievable"]["ok"]
    assert result["measurable"]["reason"] == "Progress is a yes/no: done or not yet."


def test_a_target_date_in_the_past_is_not_realistic():
    result = check({**MEDITATE, "start_date": "2024-12-01", "target_date": "2025-01-05"})
    assert not result["realistic"]["ok"]
    assert "already passed" in result["realistic"]["reason"]
    assert result["time_bound"]["ok"]  # it has a date; the date is the realistic problem
    assert mentions(result["suggestions"], "target date after today")


def test_a_target_date_before_the_start_is_not_realistic():
    result = check({**MEDITATE, "start_date": "2025-04-01", "target_date": "2025-03-03"})
    assert not result["realistic"]["ok"]
    assert "after the start date (2025-04-01)" in result["realistic"]["reason"]
    assert not result["achievable"]["ok"]


def test_a_target_date_of_today_leaves_no_time():
    result = check({**MEDITATE, "start_date": None, "target_date": "2025-01-06"})
    assert not result["realistic"]["ok"]
    assert not result["achievable"]["ok"]


def test_time_bound_needs_a_target_date():
    draft = {key: value for key, value in MEDITATE.items() if key != "target_date"}
    result = check(draft)
    assert not result["time_bound"]["ok"]
    assert result["measurable"]["ok"]
    assert mentions(result["suggestions"], "target date")
