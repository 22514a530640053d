"""Training utilities around the optimizers: gradient clipping (`clip_grad_norm`,
`clip_grad_value`, `grad_norm`) and averaged parameters (`AveragedParameters`),
torch.nn.utils' and torch.optim.swa_utils'.

Their kernels are gdfast.kernels.clipping and gdfast.kernels.averaging
(docs/optimizers.md, "Gradient clipping and averaged parameters").
"""
from .averaging import AveragedParameters
from .clipping import clip_grad_norm, clip_grad_value, grad_norm

__all__ = ["AveragedParameters", "clip_grad_norm", "clip_grad_value", "grad_norm"]
