"""The README documents every configuration variable the code reads, and the commands CI uses."""
from __future__ import annotations

import re
from pathlib import Path

from services.goals import config as goals
from services.notifications import config as notifications
from services.questionnaires import config as questionnaires
from shared.config import SECRET_VARIABLES

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
SHARED_VARIABLES = set(re.findall(r'_read\(env, "([A-Z_]+)"', (ROOT / "shared" / "config.py").read_text()))
SECRET_FILES = {f"{name}_FILE" for name in SECRET_VARIABLES}


def documented() -> set[str]:
    return set(re.findall(r"^\| `([A-Z_]+)` \|", README, flags=re.MULTILINE))


def test_every_shared_variable_is_in_the_configuration_table():
    assert SHARED_VARIABLES, "no variables found in shared/config.py"
    assert documented() >= SHARED_VARIABLES


def test_every_secret_file_variable_is_in_the_configuration_table():
    assert documented() >= SECRET_FILES, sorted(SECRET_FILES - documented())


def test_every_service_option_is_in_the_configuration_table():
    options = {option.env for module in (goals, questionnaires, notifications) for option in module.OPTIONS}
    assert options <= documented(), sorted(options - documented())


def test_readme_gives_the_commands_that_ci_and_users_run():
    assert "scripts/test" in (ROOT / ".ci" / "run").read_text()
    for command in ("scripts/stack", "scripts/test", "docker compose up"):
        assert command in README
    # The two commands set themselves up: no install step comes before them.
    for script in ("stack", "test"):
        assert "pip install" in (ROOT / "scripts" / script).read_text()
    assert "scripts/install-helm" in (ROOT / "scripts" / "test").read_text()
    assert "scripts/install-tools" in (ROOT / "scripts" / "test").read_text()
    assert "scripts/install-tools" in (ROOT / ".ci" / "run").read_text()


def test_the_example_chart_is_what_the_code_draws_and_the_readme_shows_it():
    from scripts.example_chart import example

    assert (ROOT / "docs" / "images" / "trajectory.svg").read_text() == example(), (
        "redraw it: python -m scripts.example_chart > docs/images/trajectory.svg")
    assert "](docs/images/trajectory.svg)" in README
