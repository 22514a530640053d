"""The quasi-Newton family's facade: L-BFGS as torch.optim.LBFGS (`LBFGS`).

Its kernels are gdfast.kernels.lbfgs and gdfast.kernels.line_search
(docs/design.md, "Quasi-Newton: L-BFGS and its line searches").
"""
from .lbfgs import LBFGS, LBFGSState

__all__ = ["LBFGS", "LBFGSState"]
