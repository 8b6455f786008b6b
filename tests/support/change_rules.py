"""The built-ins' change rules, typed in from the publications independently of the JSON files,
so that a test compares the definitions (and the code reading them) with the sources."""

# code: (direction, reliable change points, caseness, remission, response fraction); a cut-off
# is (">=", x) or ("<", x).
PUBLISHED_CHANGE_RULES = {
    # NHS Talking Therapies: reliable change 6, case >= 10; NCQA HEDIS: remission < 5, response 50%.
    "phq9": ("higher_is_worse", 6, (">=", 10), ("<", 5), 0.5),
    # NHS Talking Therapies: reliable change 4, case >= 8; remission < 5 is the contract's analogue.
    "gad7": ("higher_is_worse", 4, (">=", 8), ("<", 5), 0.5),
    # Kroenke et al. 2003 (PHQ-2) and 2010 (PHQ-2, GAD-2): positive screen at 3 or more.
    "phq2": ("higher_is_worse", None, (">=", 3), None, None),
    "gad2": ("higher_is_worse", None, (">=", 3), None, None),
    # WHO-5 scoring instructions: a 10% change (2.5 raw points) is significant; below 13 is poor.
    "who5": ("higher_is_better", 2.5, ("<", 13), None, None),
    # Marx et al. 2022 sample 1: reliable change 15; Bovin et al. 2016: probable PTSD at 33.
    "pcl5": ("higher_is_worse", 15, (">=", 33), None, None),
    # WHO AUDIT manual: 8 or more is hazardous and harmful use.
    "audit": ("higher_is_worse", None, (">=", 8), None, None),
    # Higher is a stronger alliance; no published thresholds.
    "waisr": ("higher_is_better", None, None, None, None),
}

# No published rule could be confirmed (AUDIT-C's cut-off depends on sex).
WITHOUT_CHANGE_RULES = {"phq15", "k10", "auditc", "wsas"}
