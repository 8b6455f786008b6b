"""Pure rules of the goals service: no I/O, no clock reads.

Callers (the API and the worker) pass `today` / `now` in and store what these functions return.

- `measure`    – measure vocabulary, direction, whether a value is possible for a measure
- `smart`      – SMART assessment of a draft goal
- `lifecycle`  – goal statuses and the allowed changes between them
- `progress`   – current value, percent, trend, on-track, target met, sub-goal roll-up
- `milestones` – milestone checks and which milestones a new entry passes
- `revisions`  – revisable fields and the diff between two versions of a goal
- `attainment` – goal attainment scaling (Kiresuk & Sherman T-score)
- `deadlines`  – due-soon and overdue checks
"""
