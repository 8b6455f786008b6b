import pytest

from services.goals.domain.attainment import scale_errors, t_score


def test_every_goal_at_its_expected_level_scores_50():
    assert t_score([(0, 1), (0, 3), (0, 0.5)]) == 50


def test_two_goals_of_weight_one_at_plus_one_and_plus_two():
    # sum(w*x) = 1 + 2 = 3; sum(w^2) = 2; (sum w)^2 = 4
    # denominator = sqrt(0.7 * 2 + 0.3 * 4) = sqrt(2.6) = 1.612452
    # T = 50 + 10 * 3 / 1.612452 = 50 + 18.6052 = 68.6052
    assert t_score([(1, 1), (2, 1)]) == pytest.approx(68.6052, abs=1e-4)


def test_one_goal_moves_ten_points_per_level_whatever_rho():
    # One goal: denominator = sqrt((1 - rho) w^2 + rho w^2) = w, so T = 50 + 10 x.
    assert t_score([(-1, 1)]) == pytest.approx(40)
    assert t_score([(2, 5)]) == pytest.approx(70)  # 50 + 10 * 10 / sqrt(0.7*25 + 0.3*25) = 50 + 100/5
    assert t_score([(-2, 1)], rho=0) == pytest.approx(30)


def test_weights_change_the_balance():
    # 3*1 + 1*0 = 3; sum(w^2) = 10; (sum w)^2 = 16; sqrt(7 + 4.8) = sqrt(11.8) = 3.435113
    # T = 50 + 30 / 3.435113 = 50 + 8.7334 = 58.7334
    assert t_score([(1, 3), (0, 1)]) == pytest.approx(58.7334, abs=1e-4)
    # -1*2 + 2*1 = 0: the weighted levels cancel out.
    assert t_score([(-1, 2), (2, 1)]) == pytest.approx(50)


def test_rho_is_a_parameter():
    # rho 0: sqrt(1 + 1) = 1.414214; T = 50 + 20 / 1.414214 = 64.1421
    assert t_score([(1, 1), (1, 1)], rho=0) == pytest.approx(64.1421, abs=1e-4)


def test_no_ratings_no_score():
    assert t_score([]) is None


@pytest.mark.parametrize("ratings, rho", [
    ([(3, 1)], 0.3), ([(-3, 1)], 0.3), ([("1", 1)], 0.3), ([(True, 1)], 0.3),
    ([(1, 0)], 0.3), ([(1, -1)], 0.3), ([(1, "2")], 0.3),
    ([(1, 1)], 1), ([(1, 1)], -0.1),
])
def test_invalid_ratings_are_refused(ratings, rho):
    with pytest.raises(ValueError):
        t_score(ratings, rho=rho)


LEVELS = {"-2": "Still avoiding every shop", "-1": "Corner shop with someone",
          "0": "Corner shop alone", "1": "Supermarket alone", "2": "Supermarket at a busy time"}


def test_a_complete_scale_is_valid():
    assert scale_errors({"levels": LEVELS, "weight": 2}) == {}
    assert scale_errors({"levels": LEVELS}) == {}  # weight defaults to 1


@pytest.mark.parametrize("scale, field, words", [
    ({"levels": {k: v for k, v in LEVELS.items() if k != "2"}}, "levels", "Describe level 2."),
    ({"levels": {**LEVELS, "-1": "  "}}, "levels", "Describe level -1."),
    ({"levels": {**LEVELS, "0": None}}, "levels", "Describe level 0."),
    ({"levels": {**LEVELS, "3": "Beyond"}}, "levels", "'3' is not a level"),
    ({"levels": ["a", "b", "c", "d", "e"]}, "levels", "from -2 to 2"),
    ({}, "levels", "from -2 to 2"),
    ({"levels": LEVELS, "weight": 0}, "weight", "above 0"),
    ({"levels": LEVELS, "weight": -1}, "weight", "above 0"),
    ({"levels": LEVELS, "weight": "1"}, "weight", "above 0"),
    ({"levels": LEVELS, "weight": True}, "weight", "above 0"),
])
def test_invalid_scales_say_what_is_wrong(scale, field, words):
    errors = scale_errors(scale)
    assert any(words in message for message in errors[field])
