"""The finest wavelet detail of an image, from which its noise level is estimated.

    n = diagonal_detail_2d(x, out)        # out: float64 ((H + 3) // 2, (W + 3) // 2)
    n = diagonal_detail_3d(x, out)        # out: float64 ((D + 3) // 2, ...)

write |d| for the diagonal detail coefficients d of one level of the
Daubechies-2 wavelet transform (the high-pass filter along every axis), as
PyWavelets' ``dwtn(x, 'db2')['dd']`` ('ddd' in 3-D) computes them with its
default 'symmetric' boundary: along an axis of length N,

    d[o] = sum_{j=0..3} h[j] x~[1 + 2 o - j],   o = 0 .. (N + 3) // 2 - 1,

with x~ the half-sample symmetric extension of x (x~[-1 - m] = x[m],
x~[N + m] = x[N - 1 - m], repeated for short axes) and h = db2's decomposition
high-pass filter. The separable filter is applied as one 4^ndim stencil
per coefficient, summed over axis 0's taps outermost. Returns n, the number
of coefficients that are not exactly zero (they are, for instance, on flat
regions of a clipped image, and skimage.restoration.estimate_sigma leaves
them out of its median); the nonzero ones are moved to the front of
out.ravel() (in C order), so the median of out.ravel()[:n] is the
estimate's. The only array is out (1/4 of the image in 2-D, 1/8 in 3-D).
"""
import numpy as np

from .jit import SERIAL, njit

# PyWavelets' Wavelet('db2').dec_hi, to the last bit
DB2_HIGH_PASS = np.array([-0.48296291314453416, 0.8365163037378079, -0.2241438680420134,
                          -0.12940952255126037])


@njit(**SERIAL)
def _reflect(p, n):
    """The index of x~[p] in x (half-sample symmetric extension, period 2n)."""
    p = p % (2 * n)
    return p if p < n else 2 * n - 1 - p


@njit(**SERIAL)
def _compact_nonzero(flat):
    """Move the nonzero entries of flat to its front, in order; return their count."""
    n = 0
    for k in range(flat.size):
        if flat[k] != 0.0:
            flat[n] = flat[k]
            n += 1
    return n


@njit(**SERIAL)
def diagonal_detail_2d(x, out):
    """|db2 diagonal detail| of a 2-D array x into out; see the module."""
    h = DB2_HIGH_PASS
    H, W = x.shape
    for o0 in range(out.shape[0]):
        for o1 in range(out.shape[1]):
            s = 0.0
            for j0 in range(4):
                r = _reflect(1 + 2 * o0 - j0, H)
                t = 0.0
                for j1 in range(4):
                    t += h[j1] * x[r, _reflect(1 + 2 * o1 - j1, W)]
                s += h[j0] * t
            out[o0, o1] = abs(s)
    return _compact_nonzero(out.ravel())


@njit(**SERIAL)
def diagonal_detail_3d(x, out):
    """|db2 diagonal detail| of a 3-D array x into out; see the module."""
    h = DB2_HIGH_PASS
    D, H, W = x.shape
    for o0 in range(out.shape[0]):
        for o1 in range(out.shape[1]):
            for o2 in range(out.shape[2]):
                s = 0.0
                for j0 in range(4):
                    p = _reflect(1 + 2 * o0 - j0, D)
                    t = 0.0
                    for j1 in range(4):
                        r = _reflect(1 + 2 * o1 - j1, H)
                        u = 0.0
                        for j2 in range(4):
                            u += h[j2] * x[p, r, _reflect(1 + 2 * o2 - j2, W)]
                        t += h[j1] * u
                    s += h[j0] * t
                out[o0, o1, o2] = abs(s)
    return _compact_nonzero(out.ravel())
