"""Analyses of trained models: pure functions returning result objects with ``to_dict()``."""

from .evaluation import EvaluationResult, evaluate

__all__ = ["EvaluationResult", "evaluate"]
