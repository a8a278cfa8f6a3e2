"""Python's ``repr(float)`` for whole numpy arrays, compiled: shortest round-trip digits.

:func:`shortest_digits` finds, for each float64, the digits Python's ``repr`` prints (the
shortest decimal that reads back as the same float, the closest one if several) with
Grisu3 (Loitsch, "Printing floating-point numbers quickly and accurately with integers",
PLDI 2010; the algorithm of double-conversion's ``FastDtoa``): 64-bit integer arithmetic
with a cached power of ten, which either proves its digits are the shortest and closest or
gives up (about 0.5% of floats). Those are done by ``repr`` itself, so every value is
exactly what ``repr`` gives. :func:`write_repr` lays the digits out as ``repr`` does
(``0.0001``, ``1e-05``, ``1234.5``, ``1e+16``, ``-0.0``, ``inf``); NaN is written as an
empty field.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = ["KIND_FINITE", "KIND_NAN", "KIND_INF", "KIND_ZERO", "KIND_FAILED",
           "shortest_digits", "write_repr", "format_repr"]

KIND_FINITE, KIND_NAN, KIND_INF, KIND_ZERO, KIND_FAILED = 0, 1, 2, 3, 4

_K_MIN, _K_MAX = -400, 400
_ALPHA, _GAMMA = -60, -32  # target binary exponent range of the scaled value (+ 64)
_E_MIN, _E_MAX = -1200, 1100  # binary exponents of normalized doubles lie in here


def _cached_powers() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (significand, binary exponent) of 10**k, k = _K_MIN.._K_MAX, rounded to 64 bits,
    and for each normalized binary exponent e the k that scales it into [_ALPHA, _GAMMA]."""
    sig = np.empty(_K_MAX - _K_MIN + 1, np.uint64)
    exp = np.empty(_K_MAX - _K_MIN + 1, np.int64)
    for i, k in enumerate(range(_K_MIN, _K_MAX + 1)):
        if k >= 0:
            v = 10**k
            bits = v.bit_length()
            if bits <= 64:
                f, e = v << (64 - bits), -(64 - bits)
            else:
                shift = bits - 64
                f = (v + (1 << (shift - 1))) >> shift
                e = shift
                if f >> 64:
                    f >>= 1
                    e += 1
        else:
            p = 10**-k
            s = p.bit_length() + 63
            f = ((1 << (s + 1)) // p + 1) >> 1  # round(2**s / p)
            while f >> 64:
                s -= 1
                f = ((1 << (s + 1)) // p + 1) >> 1
            while not f >> 63:
                s += 1
                f = ((1 << (s + 1)) // p + 1) >> 1
            e = -s
        sig[i], exp[i] = f, e
    pick = np.empty(_E_MAX - _E_MIN + 1, np.int64)
    for j, we in enumerate(range(_E_MIN, _E_MAX + 1)):
        # the first k with we + exp[k] + 64 >= _ALPHA (exp grows by 3..4 per step)
        i = int(np.searchsorted(exp, _ALPHA - 64 - we))
        assert _ALPHA <= we + exp[i] + 64 <= _GAMMA
        pick[j] = i
    return sig, exp, pick


_SIG, _EXP, _PICK = _cached_powers()
_M32 = np.uint64(0xFFFFFFFF)


@njit(inline="always", cache=True)
def _mul_hi(x, y):  # pragma: no cover - compiled
    """Upper 64 bits of the 128-bit product, rounded (DiyFp::Multiply)."""
    a = x >> np.uint64(32)
    b = x & _M32
    c = y >> np.uint64(32)
    d = y & _M32
    ac = a * c
    bc = b * c
    ad = a * d
    bd = b * d
    tmp = ((bd >> np.uint64(32)) + (ad & _M32) + (bc & _M32)
           + (np.uint64(1) << np.uint64(31)))
    return ac + (ad >> np.uint64(32)) + (bc >> np.uint64(32)) + (tmp >> np.uint64(32))


@njit(inline="always", cache=True)
def _normalize(f, e):  # pragma: no cover - compiled
    while (f >> np.uint64(63)) == np.uint64(0):
        f <<= np.uint64(1)
        e -= 1
    return f, e


@njit(cache=True)
def _round_weed(digits, distance_too_high_w, unsafe_interval, rest, ten_kappa,
                unit):  # pragma: no cover - compiled
    """Grisu3 RoundWeed on the digits as an integer; return (digits, ok)."""
    small_distance = distance_too_high_w - unit
    big_distance = distance_too_high_w + unit
    while (rest < small_distance and unsafe_interval - rest >= ten_kappa
           and (rest + ten_kappa < small_distance
                or small_distance - rest >= rest + ten_kappa - small_distance)):
        digits -= np.uint64(1)
        rest += ten_kappa
    if (rest < big_distance and unsafe_interval - rest >= ten_kappa
            and (rest + ten_kappa < big_distance
                 or big_distance - rest > rest + ten_kappa - big_distance)):
        return digits, False
    ok = (np.uint64(2) * unit <= rest) and (rest <= unsafe_interval - np.uint64(4) * unit)
    return digits, ok


@njit(cache=True)
def _grisu3(bits, sig_table, exp_table, pick_table):  # pragma: no cover - compiled
    """Return (digits, ndigits, decpt, ok) of a positive finite float given by its bits:
    ``0.DIGITS * 10**decpt``."""
    bits &= ~(np.uint64(1) << np.uint64(63))
    hidden = np.uint64(1) << np.uint64(52)
    frac = bits & (hidden - np.uint64(1))
    biased = np.int64(bits >> np.uint64(52))
    if biased == 0:
        f = frac
        e = np.int64(1 - 1075)
    else:
        f = frac | hidden
        e = biased - 1075
    # boundaries m- and m+, and w, normalized
    if biased == 0:
        pf, pe = _normalize((f << np.uint64(1)) + np.uint64(1), e - 1)
        wf, we = _normalize(f, e)
    else:  # the hidden bit is bit 52: fixed shifts
        pf, pe = ((f << np.uint64(1)) + np.uint64(1)) << np.uint64(10), e - 11
        wf, we = f << np.uint64(11), e - 11
    if f == hidden and biased > 1:
        mf, me = (f << np.uint64(2)) - np.uint64(1), e - 2
    else:
        mf, me = (f << np.uint64(1)) - np.uint64(1), e - 1
    mf <<= np.uint64(me - pe)
    idx = pick_table[we - _E_MIN]
    cf = sig_table[idx]
    ce = exp_table[idx]
    k = idx + _K_MIN
    w_f = _mul_hi(wf, cf)
    lo_f = _mul_hi(mf, cf)
    hi_f = _mul_hi(pf, cf)
    one_e = we + ce + 64  # pe == we after normalization (both have the top bit set)
    # DigitGen
    unit = np.uint64(1)
    too_low = lo_f - unit
    too_high = hi_f + unit
    unsafe_interval = too_high - too_low
    shift = np.uint64(-one_e)
    one_f = np.uint64(1) << shift
    integrals = too_high >> shift
    fractionals = too_high & (one_f - np.uint64(1))
    divisor = np.uint64(1)
    kappa = 0
    if integrals > np.uint64(0):
        kappa = 1
        while divisor * np.uint64(10) <= integrals:
            divisor *= np.uint64(10)
            kappa += 1
    digits = np.uint64(0)
    nd = 0
    int32 = np.uint32(integrals)
    div32 = np.uint32(divisor)
    while kappa > 0:
        digit = int32 // div32
        digits = digits * np.uint64(10) + np.uint64(digit)
        if digits > np.uint64(0) or nd > 0:
            nd += 1
        int32 -= digit * div32
        kappa -= 1
        rest = (np.uint64(int32) << shift) + fractionals
        if rest < unsafe_interval:
            digits, ok = _round_weed(digits, too_high - w_f, unsafe_interval, rest,
                                     np.uint64(div32) << shift, unit)
            return digits, nd, nd + kappa - k, ok
        div32 //= np.uint32(10)
    while True:
        fractionals *= np.uint64(10)
        unit *= np.uint64(10)
        unsafe_interval *= np.uint64(10)
        digit = fractionals >> shift
        digits = digits * np.uint64(10) + digit
        if digits > np.uint64(0) or nd > 0:
            nd += 1
        if nd > 17:
            return digits, nd, 0, False
        fractionals &= one_f - np.uint64(1)
        kappa -= 1
        if fractionals < unsafe_interval:
            digits, ok = _round_weed(digits, (too_high - w_f) * unit, unsafe_interval,
                                     fractionals, one_f, unit)
            return digits, nd, nd + kappa - k, ok


@njit(parallel=True, nogil=True, cache=True)
def _shortest(values, bits, sig_table, exp_table, pick_table):  # pragma: no cover - compiled
    n = values.shape[0]
    digits = np.zeros(n, np.uint64)
    ndigits = np.zeros(n, np.int8)
    decpt = np.zeros(n, np.int16)
    kind = np.zeros(n, np.uint8)
    for i in prange(n):
        v = values[i]
        if v != v:
            kind[i] = KIND_NAN
            continue
        a = abs(v)
        if a == np.inf:
            kind[i] = KIND_INF
            continue
        if a == 0.0:
            kind[i] = KIND_ZERO
            continue
        d, nd, p, ok = _grisu3(bits[i], sig_table, exp_table, pick_table)
        if not ok:
            kind[i] = KIND_FAILED
            continue
        # the digits may have lost a leading digit to RoundWeed (e.g. 10 -> 9): recount
        count = 0
        t = d
        while t > np.uint64(0):
            t //= np.uint64(10)
            count += 1
        p -= nd - count
        # trailing zeros are not part of the shortest digits
        while d % np.uint64(10) == np.uint64(0):
            d //= np.uint64(10)
            count -= 1
        digits[i] = d
        ndigits[i] = count
        decpt[i] = p
    return digits, ndigits, decpt, kind


@njit(cache=True)
def _parse_repr(text, digits, ndigits, decpt, rows):  # pragma: no cover - compiled
    """Digits of ``repr`` strings (rows of ASCII bytes, NUL padded) into the arrays."""
    for r in range(text.shape[0]):
        d = np.uint64(0)
        nd = 0
        point = -1
        exponent = 0
        lead = 0  # zeros before the first significant digit, after the point
        j = 0
        width = text.shape[1]
        while j < width and text[r, j] != 0:
            c = text[r, j]
            if c == 101:  # e
                sign = 1
                j += 1
                if text[r, j] == 45:
                    sign = -1
                j += 1
                while j < width and text[r, j] != 0:
                    exponent = exponent * 10 + (text[r, j] - 48)
                    j += 1
                exponent *= sign
                break
            if c == 46:
                point = nd + lead
            elif 48 <= c <= 57:
                if nd == 0 and c == 48:
                    lead += 1
                else:
                    d = d * np.uint64(10) + np.uint64(c - 48)
                    nd += 1
            j += 1
        if point < 0:
            point = nd + lead
        # value = 0.DIGITS * 10**(point - lead + exponent), digits without leading zeros
        p = point - lead + exponent
        while nd > 1 and d % np.uint64(10) == np.uint64(0):
            d //= np.uint64(10)
            nd -= 1
        i = rows[r]
        digits[i] = d
        ndigits[i] = nd
        decpt[i] = p


def shortest_digits(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                  np.ndarray]:
    """Return ``(digits, ndigits, decpt, kind)`` of float64 values, as ``repr`` has them.

    A finite nonzero value's ``repr`` has the significant digits ``digits`` (uint64, no
    trailing zeros, ``ndigits`` of them) with the value ``0.DIGITS * 10**decpt`` (sign
    aside); ``kind`` is ``KIND_FINITE`` for those, else ``KIND_NAN``, ``KIND_INF`` or
    ``KIND_ZERO``.
    """
    values = np.ascontiguousarray(values, dtype=np.float64)
    digits, ndigits, decpt, kind = _shortest(values, values.view(np.uint64), _SIG, _EXP, _PICK)
    failed = np.flatnonzero(kind == KIND_FAILED)
    if failed.size:
        text = np.array([repr(v) for v in np.abs(values[failed]).tolist()], "S32")
        _parse_repr(text.view(np.uint8).reshape(failed.size, 32), digits, ndigits, decpt,
                    failed)
        kind[failed] = KIND_FINITE
    return digits, ndigits, decpt, kind


@njit(inline="always", cache=True)
def write_repr(out, pos, negative, digits, nd, decpt, kind):  # pragma: no cover - compiled
    """Write one value as ``repr`` does into ``out[pos:]`` (NaN: nothing); return the new pos."""
    if kind == KIND_NAN:
        return pos
    if negative:
        out[pos] = 45  # -
        pos += 1
    if kind == KIND_INF:
        out[pos] = 105  # inf
        out[pos + 1] = 110
        out[pos + 2] = 102
        return pos + 3
    if kind == KIND_ZERO:
        out[pos] = 48  # 0.0
        out[pos + 1] = 46
        out[pos + 2] = 48
        return pos + 3
    # the digits, most significant first, into out[pos + 1 ...] (room for a point)
    scientific = decpt > 16 or decpt < -3
    if scientific:
        # d.ddde+XX
        start = pos
        t = digits
        for j in range(nd - 1, -1, -1):
            out[start + j + (1 if j > 0 else 0)] = 48 + np.int64(t % np.uint64(10))
            t //= np.uint64(10)
        if nd > 1:
            out[start + 1] = 46
            pos = start + nd + 1
        else:
            pos = start + 1
        out[pos] = 101  # e
        x = decpt - 1
        if x < 0:
            out[pos + 1] = 45
            x = -x
        else:
            out[pos + 1] = 43
        pos += 2
        if x >= 100:
            out[pos] = 48 + x // 100
            out[pos + 1] = 48 + (x // 10) % 10
            out[pos + 2] = 48 + x % 10
            return pos + 3
        out[pos] = 48 + x // 10
        out[pos + 1] = 48 + x % 10
        return pos + 2
    if decpt <= 0:
        # 0.000ddd
        out[pos] = 48
        out[pos + 1] = 46
        pos += 2
        for _ in range(-decpt):
            out[pos] = 48
            pos += 1
        t = digits
        for j in range(nd - 1, -1, -1):
            out[pos + j] = 48 + np.int64(t % np.uint64(10))
            t //= np.uint64(10)
        return pos + nd
    if decpt >= nd:
        # ddd000.0
        t = digits
        for j in range(nd - 1, -1, -1):
            out[pos + j] = 48 + np.int64(t % np.uint64(10))
            t //= np.uint64(10)
        pos += nd
        for _ in range(decpt - nd):
            out[pos] = 48
            pos += 1
        out[pos] = 46
        out[pos + 1] = 48
        return pos + 2
    # ddd.ddd
    t = digits
    for j in range(nd - 1, -1, -1):
        out[pos + j + (1 if j >= decpt else 0)] = 48 + np.int64(t % np.uint64(10))
        t //= np.uint64(10)
    out[pos + decpt] = 46
    return pos + nd + 1


#: Longest ``repr`` of a float64 written by :func:`write_repr` (``-2.2250738585072014e-308``).
MAX_REPR = 24


@njit(cache=True)
def _format_all(values, digits, ndigits, decpt, kind):  # pragma: no cover - compiled
    n = values.shape[0]
    out = np.empty(n * (MAX_REPR + 1), np.uint8)
    pos = 0
    for i in range(n):
        pos = write_repr(out, pos, np.signbit(values[i]),
                         digits[i], np.int64(ndigits[i]), np.int64(decpt[i]), kind[i])
        out[pos] = 10
        pos += 1
    return out[:pos]


def format_repr(values: np.ndarray) -> list[str]:
    """Return ``repr`` of each value (NaN as ``""``); for tests and small arrays."""
    values = np.ascontiguousarray(values, dtype=np.float64)
    text = _format_all(values, *shortest_digits(values)).tobytes().decode()
    return text.split("\n")[:-1]
