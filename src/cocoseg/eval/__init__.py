"""COCO evaluation, pycocotools-exact (placeholder docstring, rewritten below)."""
from cocoseg.eval.evaluator import Evaluator, evaluate
from cocoseg.eval.params import EvalParams
from cocoseg.eval.result import EvalResult
from cocoseg.eval.state import EvalState

__all__ = ["EvalParams", "EvalResult", "EvalState", "Evaluator", "evaluate"]
