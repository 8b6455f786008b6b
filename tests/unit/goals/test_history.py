from datetime import datetime, timezone

import pytest

from services.goals.domain.history import fold, next_seq

AT = datetime(2026, 1, 1, tzinfo=timezone.utc)
LATER = datetime(2026, 1, 2, tzinfo=timezone.utc)
CREATED = {
    "_id": "g-1", "tenant": "clinic-a", "client_id": "c-1", "therapist_id": "t-1",
    "title": "Walk after lunch", "description": None, "category": "behavioral",
    "measure": {"kind": "count", "unit": "walks", "baseline": 0, "target": 5, "direction": "increase", "per": "week"},
    "start_date": "2026-01-01", "target_date": "2026-03-01", "parent_goal_id": None,
    "milestones": [{"id": "m-1", "title": "Half way", "percent": 50}],
    "smart": {"specific": {"ok": True, "reason": "..."}}, "created_at": AT, "created_by": "t-1",
}


def revision(seq, kind, changes, **extra):
    return {"seq": seq, "kind": kind, "changes": changes, "reason": "why", "by": "t-1", "at": LATER, **extra}


def test_a_goal_without_revisions_is_its_creation_record_and_active():
    goal = fold(CREATED, [])
    assert goal["id"] == "g-1"
    assert goal["status"] == "active"
    assert goal["seq"] == 0 and next_seq(goal) == 1
    assert goal["measure"] == CREATED["measure"]
    assert goal["attainment_scale"] is None
    assert goal["updated_at"] == AT


def test_revisions_apply_in_seq_order_whatever_order_they_come_in():
    revisions = [
        revision(2, "revise", {"measure": {"from": {"target": 4}, "to": {"target": 6}}}),
        revision(1, "revise", {"measure": {"from": {"target": 5}, "to": {"target": 4}},
                               "title": {"from": "Walk after lunch", "to": "Walk"}},
                 smart={"specific": {"ok": False, "reason": "vague"}}),
    ]
    goal = fold(CREATED, revisions)
    assert goal["measure"]["target"] == 6
    assert goal["measure"]["unit"] == "walks"
    assert goal["title"] == "Walk"
    assert goal["smart"] == {"specific": {"ok": False, "reason": "vague"}}
    assert goal["seq"] == 2 and next_seq(goal) == 3


def test_the_creation_record_is_not_modified():
    fold(CREATED, [revision(1, "revise", {"measure": {"from": {"target": 5}, "to": {"target": 9}}}),
                   revision(2, "milestone_added", {"milestone": {"from": None, "to": {"id": "m-2", "title": "x", "value": 4}}})])
    assert CREATED["measure"]["target"] == 5
    assert len(CREATED["milestones"]) == 1


def test_status_milestones_and_scale():
    scale = {"levels": {k: k for k in ("-2", "-1", "0", "1", "2")}, "weight": 2}
    goal = fold(CREATED, [
        revision(1, "status", {"status": {"from": "active", "to": "achieved"}}, auto=True),
        revision(2, "status", {"status": {"from": "achieved", "to": "active"}}),
        revision(3, "milestone_added", {"milestone": {"from": None, "to": {"id": "m-2", "title": "Four", "value": 4}}}),
        revision(4, "attainment_scale", {"attainment_scale": {"from": None, "to": scale}}),
    ])
    assert goal["status"] == "active"
    assert goal["auto_achieved"] is True
    assert [m["id"] for m in goal["milestones"]] == ["m-1", "m-2"]
    assert goal["attainment_scale"] == scale


def test_removing_every_measure_field_leaves_no_measure():
    old = CREATED["measure"]
    changes = {"measure": {"from": dict(old), "to": dict.fromkeys(old)}}
    assert fold(CREATED, [revision(1, "revise", changes)])["measure"] is None


def test_a_measure_can_be_added_to_a_goal_without_one():
    bare = {**CREATED, "measure": None, "milestones": []}
    added = {"from": {"kind": None, "baseline": None, "target": None}, "to": {"kind": "scale", "baseline": 3, "target": 7}}
    goal = fold(bare, [revision(1, "revise", {"measure": added})])
    assert goal["measure"] == {"kind": "scale", "baseline": 3, "target": 7}


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValueError):
        fold(CREATED, [revision(1, "rename", {})])
