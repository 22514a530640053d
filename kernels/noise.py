"""The finest wavelet detail of an image, from which its noise level is estimated.

    top = max_magnitude(x)                # max |x|, any shape and strides
    diagonal_detail_2d(x, out, scale)     # out: float64 ((H + 3) // 2, (W + 3) // 2)
    diagonal_detail_3d(x, out, scale)     # out: float64 ((D + 3) // 2, ...)
    n = nonzero_to_front(out.ravel())
    n = block_mean_squares_2d(x, out, b, means)   # means: float64, one per block at least
    n = block_mean_squares_3d(x, out, b, means)
    n = unclipped_to_front_2d(x, out)
    n = unclipped_to_front_3d(x, out)

write |d| for the diagonal detail coefficients d of one level of the
Daubechies-2 wavelet transform (the high-pass filter along every axis), as
PyWavelets' ``dwtn(x, 'db2')['dd']`` ('ddd' in 3-D) computes them with its
default 'symmetric' boundary: along an axis of length N,

    d[o] = sum_{j=0..3} h[j] x~[1 + 2 o - j],   o = 0 .. (N + 3) // 2 - 1,

with x~ the half-sample symmetric extension of x (x~[-1 - m] = x[m],
x~[N + m] = x[N - 1 - m], repeated for short axes) and h = db2's decomposition
high-pass filter. The separable filter is applied as one 4^ndim stencil
per coefficient, summed over axis 0's taps outermost, to the pixels times
scale: a power of two that brings max |x| near 1 (gdfast.estimate_sigma
takes 2^-e for max |x| = m 2^e), so that neither the taps' sums nor the
squares of the coefficients over- or underflow whatever x's units (1e300,
1e-300), and the coefficients are those of x times scale exactly (a power
of two commutes with rounding). The only array is out (1/4 of the image in
2-D, 1/8 in 3-D).

Two estimates are made from |d| (gdfast.estimate_sigma):

- the median of the coefficients that are not exactly zero (they are, for
  instance, on flat regions of a clipped image, and skimage.restoration.
  estimate_sigma leaves them out): nonzero_to_front moves them to the front
  of out.ravel(), in C order, and returns their count n;
- the flattest blocks: block_mean_squares_* writes mean(d^2) over each
  b x b (x b) block of coefficients, the blocks tiling the coefficients from
  index 2 on along every axis (the first and last two are mixed with the
  boundary's mirror image) and leaving out blocks whose pixels (2o - 2 ..
  2o + 1 along an axis for coefficient o) hold x's minimum or maximum,
  where the data may be clipped (black or saturated regions: the noise
  there is cut, and its blocks would read too little); returns how many it
  wrote, in C order of the blocks;
- the median of the coefficients whose pixels hold neither x's minimum nor
  its maximum, where there are too few such blocks (a clipped background
  cuts most of them): unclipped_to_front_* moves those coefficients that
  are not exactly zero to the front of out.ravel(), in C order, and returns
  their count. It swaps them there, so out keeps every coefficient (in
  another order), and nonzero_to_front still finds all the nonzero ones
  where too few are unclipped: the detail is computed once.
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
def nonzero_to_front(flat):
    """Move the nonzero entries of flat to its front, in order; return their count."""
    n = 0
    for k in range(flat.size):
        if flat[k] != 0.0:
            flat[n] = flat[k]
            n += 1
    return n


@njit(**SERIAL)
def max_magnitude(x):
    """max |x| over an array of any shape and strides (0 for all zeros)."""
    top = 0.0
    for v in x.flat:
        top = max(top, abs(v))
    return top


@njit(**SERIAL)
def diagonal_detail_2d(x, out, scale):
    """|db2 diagonal detail| of a 2-D array x times scale (a power of two)
    into out; see the module."""
    h = DB2_HIGH_PASS
    H, W = x.shape
    for o0 in range(out.shape[0]):
        for o1 in range(out.shape[1]):
            s = 0.0
            for j0 in range(4):
                r = _reflect(1 + 2 * o0 - j0, H)
                t = 0.0
                for j1 in range(4):
                    t += h[j1] * (x[r, _reflect(1 + 2 * o1 - j1, W)] * scale)
                s += h[j0] * t
            out[o0, o1] = abs(s)


@njit(**SERIAL)
def diagonal_detail_3d(x, out, scale):
    """|db2 diagonal detail| of a 3-D array x times scale (a power of two)
    into out; see the module."""
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
                            u += h[j2] * (x[p, r, _reflect(1 + 2 * o2 - j2, W)] * scale)
                        t += h[j1] * u
                    s += h[j0] * t
                out[o0, o1, o2] = abs(s)


# the first and last BORDER coefficients along an axis see the mirrored boundary
BORDER = 2


@njit(**SERIAL)
def _extremes(flat):
    lo = hi = flat[0]
    for v in flat:
        lo = min(lo, v)
        hi = max(hi, v)
    return lo, hi


@njit(**SERIAL)
def block_mean_squares_2d(x, d, b, means):
    """mean(d^2) over each b x b block of d = |detail of x| whose pixels hold
    neither x's minimum nor its maximum; see the module."""
    lo, hi = _extremes(x.ravel())
    n = 0
    for k0 in range((d.shape[0] - 2 * BORDER) // b):
        for k1 in range((d.shape[1] - 2 * BORDER) // b):
            i0, j0 = BORDER + k0 * b, BORDER + k1 * b
            inside = True                        # coefficient o reads pixels 2o - 2 .. 2o + 1
            for p in range(2 * i0 - 2, 2 * (i0 + b)):
                for q in range(2 * j0 - 2, 2 * (j0 + b)):
                    inside = inside and lo < x[p, q] < hi
            if not inside:
                continue
            s = 0.0
            for i in range(i0, i0 + b):
                for j in range(j0, j0 + b):
                    s += d[i, j] * d[i, j]
            means[n] = s / (b * b)
            n += 1
    return n


@njit(**SERIAL)
def block_mean_squares_3d(x, d, b, means):
    """mean(d^2) over each b x b x b block of d = |detail of x| whose pixels
    hold neither x's minimum nor its maximum; see the module."""
    lo, hi = _extremes(x.ravel())
    n = 0
    for k0 in range((d.shape[0] - 2 * BORDER) // b):
        for k1 in range((d.shape[1] - 2 * BORDER) // b):
            for k2 in range((d.shape[2] - 2 * BORDER) // b):
                i0, j0, m0 = BORDER + k0 * b, BORDER + k1 * b, BORDER + k2 * b
                inside = True
                for p in range(2 * i0 - 2, 2 * (i0 + b)):
                    for q in range(2 * j0 - 2, 2 * (j0 + b)):
                        for r in range(2 * m0 - 2, 2 * (m0 + b)):
                            inside = inside and lo < x[p, q, r] < hi
                if not inside:
                    continue
                s = 0.0
                for i in range(i0, i0 + b):
                    for j in range(j0, j0 + b):
                        for m in range(m0, m0 + b):
                            s += d[i, j, m] * d[i, j, m]
                means[n] = s / (b * b * b)
                n += 1
    return n


@njit(**SERIAL)
def unclipped_to_front_2d(x, d):
    """Move the nonzero coefficients of d = |detail of x| whose pixels hold
    neither x's minimum nor its maximum to the front of d.ravel(), in C
    order, by swaps (d keeps every coefficient); return their count. See
    the module."""
    lo, hi = _extremes(x.ravel())
    H, W = x.shape
    flat = d.ravel()
    n = 0
    for o0 in range(d.shape[0]):
        for o1 in range(d.shape[1]):
            inside = True                        # coefficient o reads pixels 2o - 2 .. 2o + 1
            for j0 in range(4):
                r = _reflect(1 + 2 * o0 - j0, H)
                for j1 in range(4):
                    inside = inside and lo < x[r, _reflect(1 + 2 * o1 - j1, W)] < hi
            v = d[o0, o1]
            if inside and v != 0.0:
                flat[o0 * d.shape[1] + o1] = flat[n]    # at or after n: already read
                flat[n] = v
                n += 1
    return n


@njit(**SERIAL)
def unclipped_to_front_3d(x, d):
    """unclipped_to_front_2d for a 3-D x and its detail d; see the module."""
    lo, hi = _extremes(x.ravel())
    D, H, W = x.shape
    flat = d.ravel()
    n = 0
    for o0 in range(d.shape[0]):
        for o1 in range(d.shape[1]):
            for o2 in range(d.shape[2]):
                inside = True
                for j0 in range(4):
                    p = _reflect(1 + 2 * o0 - j0, D)
                    for j1 in range(4):
                        r = _reflect(1 + 2 * o1 - j1, H)
                        for j2 in range(4):
                            inside = inside and lo < x[p, r, _reflect(1 + 2 * o2 - j2, W)] < hi
                v = d[o0, o1, o2]
                if inside and v != 0.0:
                    flat[(o0 * d.shape[1] + o1) * d.shape[2] + o2] = flat[n]   # read already
                    flat[n] = v
                    n += 1
    return n
