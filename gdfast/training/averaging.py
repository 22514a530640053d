"""torch.optim.swa_utils.AveragedModel's running averages over a numpy array
(kernels: gdfast.kernels.averaging)."""
import numpy as np

from .. import _validation as check
from ..kernels import averaging as kernels

# Below this length the serial kernel is faster than waking numba's threads
AVERAGE_PARALLEL_MIN_SIZE = 32_768


def _parameters(name, x):
    if type(x) is not np.ndarray:
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(x).__name__}")
    if x.dtype != np.float64 or not x.dtype.isnative:
        raise TypeError(f"{name} must have dtype float64 (native byte order), got {x.dtype}")
    return x


class AveragedParameters:
    """A running average of parameters: SWA's equal weights, or an EMA.

    torch.optim.swa_utils.AveragedModel for one array. The average starts
    as a copy of ``x``; each `update` with the current parameters x does::

        n_averaged == 0:   average = x                   (a copy, as torch's)
        SWA (decay None):  average += (x - average) / (n_averaged + 1)
        EMA (decay d):     average = lerp(average, x, 1 - d)
        then               n_averaged += 1

    SWA's average is the mean of the arrays given to `update`, as
    AveragedModel(model) computes it on the CPU; the EMA is
    AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(d)), torch's lerp
    with a fused multiply-add (gdfast.kernels.averaging). One pass per update
    (read x, read and write the average). For a model of several arrays,
    keep one AveragedParameters per array: the average is element-wise.

    Parameters
    ----------
    x : numpy.ndarray
        float64 parameters of any shape; copied (the average's shape).
    decay : float or None, default None
        None for SWA; the EMA's decay in [0, 1] otherwise (torch's default
        for get_ema_multi_avg_fn is 0.999).

    Raises
    ------
    TypeError
        If x is not a float64 numpy array, or decay is not None or a real
        number.
    ValueError
        If decay is outside [0, 1].

    Examples
    --------
    >>> import numpy as np, gdfast
    >>> swa = gdfast.AveragedParameters(np.zeros(2))
    >>> for x in ([1.0, 2.0], [3.0, 4.0]):
    ...     _ = swa.update(np.array(x))
    >>> print(swa.average, swa.n_averaged)
    [2. 3.] 2
    """

    def __init__(self, x: np.ndarray, decay: float | None = None) -> None:
        x = _parameters("x", x)
        if decay is not None:
            decay = check.real("decay", decay)
            if not 0.0 <= decay <= 1.0:
                raise ValueError(f"decay must be in [0, 1], got {decay!r}")
        self._decay = decay
        self._average = np.array(x, dtype=np.float64, order="C", copy=True)
        self._flat = self._average.reshape(-1)
        self._n = 0

    @property
    def decay(self) -> float | None:
        """The EMA's decay, or None for SWA (read-only)."""
        return self._decay

    @property
    def average(self) -> np.ndarray:
        """The average, of x's shape (the array itself: a later update changes it)."""
        return self._average

    @property
    def n_averaged(self) -> int:
        """The number of updates so far (torch's AveragedModel.n_averaged)."""
        return self._n

    def update(self, x: np.ndarray) -> int:
        """Average in the current parameters x (AveragedModel.update_parameters).

        Parameters
        ----------
        x : numpy.ndarray
            float64, of the average's shape; only read.

        Returns
        -------
        int
            The number of entries of the average that are NaN or inf after
            the update (0 when x and the average are finite; a NaN in x
            reaches the average, as in torch).

        Raises
        ------
        TypeError
            If x is not a float64 numpy array.
        ValueError
            If x's shape is not the average's.
        """
        x = _parameters("x", x)
        if x.shape != self._average.shape:
            raise ValueError(f"x must have the average's shape {self._average.shape}, "
                             f"got {x.shape}")
        flat = np.ascontiguousarray(x).reshape(-1)
        if self._n == 0:
            np.copyto(self._flat, flat)
            bad = int(np.count_nonzero(~np.isfinite(self._flat)))
        elif self._decay is None:
            bad = (kernels.swa_average if flat.size < AVERAGE_PARALLEL_MIN_SIZE
                   else kernels.swa_average_parallel)(self._flat, flat, self._n)
        else:
            bad = (kernels.lerp_average if flat.size < AVERAGE_PARALLEL_MIN_SIZE
                   else kernels.lerp_average_parallel)(self._flat, flat, 1.0 - self._decay)
        self._n += 1
        return bad
