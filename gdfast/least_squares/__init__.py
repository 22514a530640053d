"""The least-squares family's facade: Levenberg–Marquardt for many small fits
(`least_squares_batch`).

Its kernels are gdfast.kernels.levenberg_marquardt (docs/design.md, "Least
squares: Levenberg–Marquardt for many small fits").
"""
from .batch import LM_MESSAGES, least_squares_batch

__all__ = ["LM_MESSAGES", "least_squares_batch"]
