"""Statistics of the benchmark suites: a distribution-free interval for a median."""
import math


def median_interval(values, confidence=0.95):
    """Distribution-free confidence interval (lo, hi) for the median of values.

    The order statistics X_(k) <= X_(R+1-k) of R values cover the true median
    with probability 1 - 2 P(B < k), B ~ Binomial(R, 1/2); k is the largest
    with that coverage >= confidence. When even (min, max) falls short of it
    (fewer than 6 values for 95%: its coverage is 1 - 2^(1-R)), (min, max) is
    returned.
    """
    xs = sorted(values)
    r = len(xs)
    if r == 0:
        raise ValueError("values: expected at least one value")
    k, below = 1, 0.0                       # below = P(B < k)
    while True:
        below_next = below + math.comb(r, k) / 2.0 ** r     # P(B < k + 1)
        if k + 1 > (r + 1) // 2 or 1.0 - 2.0 * below_next < confidence:
            break
        k, below = k + 1, below_next
    return xs[k - 1], xs[r - k]
