"""Data curation in numpy: which images to label next (ranking, uncertainty, diversity), label audit,
challenge suites and model A/B, pre-label exports."""
from cocoseg.curate.diversity import k_center_greedy, near_duplicate_pairs
from cocoseg.curate.ranking import STRATEGIES, Selection, select
from cocoseg.curate.uncertainty import flip_inconsistency, uncertainty_components

__all__ = ["STRATEGIES", "Selection", "flip_inconsistency", "k_center_greedy", "near_duplicate_pairs", "select",
           "uncertainty_components"]
