"""Compiled kernels of the fast replay path: tick CSV bytes to exact integers, and back out.

:func:`scan` splits a block of plain CSV bytes (no ``"`` quoting, ASCII, ``\\n`` or
``\\r\\n`` line ends) into rows and reads the numeric fields exactly: a field in plain
decimal notation (``[+-]digits[.digits]``, blanks around allowed) of at most 18 digits and
18 decimals becomes ``(mantissa, decimals)`` with ``value = mantissa / 10**decimals``, no
float in between. Any other field is flagged *irregular* and left to the caller, which
reads it with :func:`tickgate.drivers.packer.parse_decimal` (exponents, long numbers) or
reports the error (``zz``, ``NaN``, empty) exactly as the slow path would.

:func:`pack` turns scanned rows into ``TICK_DTYPE`` fields with each symbol's state carried
across blocks, stopping at the first row the slow :class:`~tickgate.drivers.packer.Packer`
would refuse (the caller asks the slow packer for the message). :func:`write_rows` writes
output lines: the input line as read, the mid quote if the input had bid and ask, then
the float columns as ``repr`` prints them (NaN empty).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from tickgate.drivers.floatrepr import write_repr

__all__ = ["FIELD_OK", "FIELD_IRREGULAR", "FIELD_MISSING", "BAD_FILE", "scan", "intern",
           "pack", "write_rows", "max_by"]

FIELD_OK, FIELD_IRREGULAR, FIELD_MISSING = 0, 1, 2
#: :func:`scan` status: the bytes hold a ``"``, a lone ``\\r`` or a non-ASCII byte.
BAD_FILE = -1

_POW10 = np.array([10**i for i in range(19)], np.int64)
_M18 = 10**18


@njit(inline="always", cache=True)
def _blank(c):  # pragma: no cover - compiled
    # ASCII characters str.strip() removes (\n and \r never occur inside a field here)
    return c == 32 or c == 9 or c == 11 or c == 12 or (28 <= c <= 31)


@njit(inline="always", cache=True)
def _number(buf, a, b):  # pragma: no cover - compiled
    """Return (status, mantissa, decimals) of buf[a:b] in plain decimal notation."""
    while a < b and _blank(buf[a]):
        a += 1
    while b > a and _blank(buf[b - 1]):
        b -= 1
    negative = False
    if a < b and (buf[a] == 43 or buf[a] == 45):
        negative = buf[a] == 45
        a += 1
    m = np.int64(0)
    digits = 0
    decimals = 0
    seen_point = False
    any_digit = False
    for j in range(a, b):
        c = buf[j]
        if 48 <= c <= 57:
            any_digit = True
            if m > 0 or c != 48:
                digits += 1
                if digits > 18:
                    return FIELD_IRREGULAR, np.int64(0), 0
            m = m * 10 + (c - 48)
            if seen_point:
                decimals += 1
                if decimals > 18:
                    return FIELD_IRREGULAR, np.int64(0), 0
        elif c == 46 and not seen_point:
            seen_point = True
        else:
            return FIELD_IRREGULAR, np.int64(0), 0
    if not any_digit:
        return FIELD_IRREGULAR, np.int64(0), 0
    return FIELD_OK, -m if negative else m, decimals


@njit(cache=True)
def scan(buf, start, eof, max_rows, first_line, c_epoch, c_symbol, c_quote, c_bid,
         c_ask):  # pragma: no cover - compiled
    """Scan whole lines of ``buf[start:]`` (up to ``max_rows`` non-empty ones).

    Returns ``(status, end, line, arrays...)``: ``status`` is ``BAD_FILE`` or the number of
    rows, ``end`` the offset after the last line read and ``line`` the number of the next
    line; then per row: line bounds, line number, field count, symbol field bounds, and
    for the numeric fields (epoch; quote or bid; ask) bounds, status, mantissa, decimals.
    A last line without a line end is read only when ``eof``. Columns ``c_quote`` or
    ``c_bid``/``c_ask`` are ``-1`` when absent.
    """
    stop = buf.shape[0]
    n_max = max_rows
    line_a = np.empty(n_max, np.int64)
    line_b = np.empty(n_max, np.int64)
    line_no = np.empty(n_max, np.int64)
    nfields = np.empty(n_max, np.int64)
    sym_a = np.empty(n_max, np.int64)
    sym_b = np.empty(n_max, np.int64)
    # numeric fields: 0 epoch, 1 quote or bid, 2 ask
    fa = np.empty((3, n_max), np.int64)
    fb = np.empty((3, n_max), np.int64)
    status = np.empty((3, n_max), np.int8)
    mant = np.zeros((3, n_max), np.int64)
    dec = np.zeros((3, n_max), np.int64)
    cols = np.array([c_epoch, c_quote if c_quote >= 0 else c_bid, c_ask])
    pos = start
    n = 0
    line = first_line
    while pos < stop and n < n_max:
        # one physical line
        a = pos
        j = pos
        while j < stop and buf[j] != 10:
            j += 1
        if j == stop and not eof:
            break  # incomplete line: wait for more bytes
        b = j
        nxt = j + 1
        if b > a and buf[b - 1] == 13:
            b -= 1
        if b == a:  # empty line: skipped, as csv.reader does
            pos = nxt
            line += 1
            continue
        k = 0
        fs = a
        sa = -1
        sb = -1
        for f in range(3):
            fa[f, n] = -1
            fb[f, n] = -1
        for q in range(a, b + 1):
            c = buf[q] if q < b else 44
            if q < b and (c == 34 or c == 13 or c >= 128):
                return BAD_FILE, pos, line, line_a, line_b, line_no, nfields, sym_a, sym_b, \
                    fa, fb, status, mant, dec
            if c == 44:
                if k == c_symbol:
                    sa = fs
                    sb = q
                for f in range(3):
                    if cols[f] == k:
                        fa[f, n] = fs
                        fb[f, n] = q
                k += 1
                fs = q + 1
        line_a[n] = a
        line_b[n] = b
        line_no[n] = line
        nfields[n] = k
        sym_a[n] = sa
        sym_b[n] = sb
        for f in range(3):
            if cols[f] < 0 or fa[f, n] < 0:
                status[f, n] = FIELD_MISSING
            else:
                s, m, d = _number(buf, fa[f, n], fb[f, n])
                status[f, n] = s
                mant[f, n] = m
                dec[f, n] = d
        n += 1
        pos = nxt
        line += 1
    return n, pos, line, line_a, line_b, line_no, nfields, sym_a, sym_b, fa, fb, status, \
        mant, dec


@njit(cache=True)
def intern(buf, sym_a, sym_b, n):  # pragma: no cover - compiled
    """Number the distinct symbol fields of ``n`` rows in order of first appearance.

    Returns ``(ok, local, first)``: ``local[i]`` the number of row ``i``'s symbol bytes,
    ``first[j]`` the first row of number ``j``; ``ok`` False if the table overflowed.
    """
    size = 4096
    keys = np.full(size, -1, np.int64)  # row holding the symbol of this slot
    ids = np.empty(size, np.int64)
    local = np.empty(n, np.int64)
    first = np.empty(size // 2, np.int64)
    count = 0
    for i in range(n):
        a, b = sym_a[i], sym_b[i]
        h = np.uint64(14695981039346656037)
        for q in range(a, b):
            h = (h ^ np.uint64(buf[q])) * np.uint64(1099511628211)
        h ^= np.uint64(b - a)
        slot = np.int64(h & np.uint64(size - 1))
        while True:
            r = keys[slot]
            if r < 0:
                if count >= size // 2:
                    return False, local, first[:count]
                keys[slot] = i
                ids[slot] = count
                first[count] = i
                local[i] = count
                count += 1
                break
            ra, rb = sym_a[r], sym_b[r]
            same = rb - ra == b - a
            if same:
                for q in range(b - a):
                    if buf[ra + q] != buf[a + q]:
                        same = False
                        break
            if same:
                local[i] = ids[slot]
                break
            slot = (slot + 1) & (size - 1)
    return True, local, first[:count]


@njit(cache=True)
def max_by(index, values, out):  # pragma: no cover - compiled
    """``out[index[i]] = max(out[index[i]], values[i])`` for every ``i``."""
    for i in range(index.shape[0]):
        if values[i] > out[index[i]]:
            out[index[i]] = values[i]


@njit(cache=True)
def significant(mant, dec):  # pragma: no cover - compiled
    """Decimals each ``mantissa / 10**decimals`` needs (trailing zeros dropped)."""
    n = mant.shape[0]
    out = np.empty(n, np.int64)
    for i in range(n):
        m, d = mant[i], dec[i]
        while d > 0 and m % 10 == 0:
            m //= 10
            d -= 1
        out[i] = d
    return out


@njit(inline="always", cache=True)
def _split(m, d):  # pragma: no cover - compiled
    """(floor(m / 10**d), remainder) of a decimal ``m / 10**d``."""
    p = _POW10[d]
    q = m // p
    return q, m - q * p


@njit(cache=True)
def pack(sym, qm, qd, em, ed, epoch_bad, n, pip, base, has_base, last_q, last_r, last_d,
         last_row, seq0, price, index, ts, flags, seqs):  # pragma: no cover - compiled
    """Pack ``n`` rows; return ``(i, code)`` of the first refused row, or ``(n, 0)``.

    Codes: 1 epoch not a number, 2 pips overflow int64, 3 time goes backwards, 4 base
    beyond 2**53, 5 offset beyond int32. State (``base``, ``has_base``, ``last_*``) is
    updated for the rows before the refused one only.
    """
    for i in range(n):
        if epoch_bad[i]:
            return i, 1
        s = sym[i]
        p = pip[s]
        m, d = qm[i], qd[i]
        big = False
        if d <= p:
            scale = _POW10[p - d]
            if m > 9223372036854775807 // scale:
                big = True
                pips = np.int64(0)
            else:
                pips = m * scale
        elif d - p > 18:
            pips = np.int64(0)
        else:
            div = _POW10[d - p]
            pips = m // div
            rem = m - pips * div
            if 2 * rem > div or (2 * rem == div and pips % 2 == 1):
                pips += 1
        eq, er = _split(em[i], ed[i])
        if has_base[s]:
            lq, lr, ld = last_q[s], last_r[s], last_d[s]
            before = False
            if eq != lq:
                before = eq < lq
            elif ed[i] >= ld:
                before = er < lr * _POW10[ed[i] - ld]
            else:
                before = er * _POW10[ld - ed[i]] < lr
            if before:
                return i, 3
        if big:
            return i, 2
        first = not has_base[s]
        if first:
            if pips > 2**53:
                return i, 4
            b = pips
        else:
            b = base[s]
        off = pips - b
        if off < -(2**31) or off > 2**31 - 1:
            return i, 5
        base[s] = b
        has_base[s] = True
        last_q[s], last_r[s], last_d[s] = eq, er, ed[i]
        last_row[s] = i
        price[i] = off
        index[i] = s
        flags[i] = 1 if first else 0
        # milliseconds, half to even, modulo 2**32
        d = ed[i]
        if d <= 3:
            frac = er * _POW10[3 - d]
        else:
            div = _POW10[d - 3]
            frac = er // div
            rem = er - frac * div
            if 2 * rem > div or (2 * rem == div and frac % 2 == 1):
                frac += 1
        ts[i] = ((eq % 4294967296) * 1000 + frac) % 4294967296
        seqs[i] = (seq0 + i) % 4294967296
    return n, 0


@njit(cache=True)
def mid(bm, bd, am, ad, ok):  # pragma: no cover - compiled
    """Exact ``(bid + ask) / 2`` as ``Decimal`` has it: ``(coef, decimals)`` per row.

    ``ok[i]`` is cleared where the sum overflows, the mid is not positive, or ``str`` of
    the ``Decimal`` would use an exponent (the caller does those rows with ``Decimal``).
    """
    n = bm.shape[0]
    coef = np.zeros(n, np.int64)
    exp10 = np.zeros(n, np.int64)
    for i in range(n):
        if not ok[i]:
            continue
        d = max(bd[i], ad[i])
        sb, sa = d - bd[i], d - ad[i]
        x, y = bm[i], am[i]
        if abs(x) >= _M18 // _POW10[sb] or abs(y) >= _M18 // _POW10[sa]:
            ok[i] = False
            continue
        total = x * _POW10[sb] + y * _POW10[sa]
        if total <= 0:
            ok[i] = False
            continue
        if total % 2 == 0:
            c, e = total // 2, d
        elif d < 18 and total < _M18:
            c, e = total * 5, d + 1
        else:
            ok[i] = False
            continue
        nd = 1
        t = c // 10
        while t > 0:
            nd += 1
            t //= 10
        if nd - 1 - e < -6:  # str(Decimal) would write 1E-7
            ok[i] = False
            continue
        coef[i] = c
        exp10[i] = e
    return coef, exp10


@njit(cache=True)
def mid_text_len(coef, exp10):  # pragma: no cover - compiled
    """Length of ``str(Decimal)`` of a positive ``coef * 10**-exp10`` in plain notation."""
    nd = 1
    t = coef // 10
    while t > 0:
        nd += 1
        t //= 10
    if exp10 == 0:
        return nd
    if nd > exp10:
        return nd + 1
    return exp10 + 2


@njit(inline="always", cache=True)
def _repr_len(negative, nd, decpt, kind):  # pragma: no cover - compiled
    """Length of what :func:`~tickgate.drivers.floatrepr.write_repr` writes."""
    if kind == 1:  # NaN
        return 0
    sign = 1 if negative else 0
    if kind == 2 or kind == 3:  # inf, 0.0
        return sign + 3
    if decpt > 16 or decpt < -3:
        x = abs(decpt - 1)
        return sign + nd + (1 if nd > 1 else 0) + 2 + (3 if x >= 100 else 2)
    if decpt <= 0:
        return sign + 2 - decpt + nd
    if decpt >= nd:
        return sign + decpt + 2
    return sign + nd + 1


@njit(parallel=True, nogil=True, cache=True)
def write_rows(buf, line_a, line_b, n, mid_coef, mid_exp, has_mid, values, digits, ndigits,
               decpt, kind):  # pragma: no cover - compiled
    """Return the output bytes of ``n`` rows (see the module doc); ``values`` is (cols, n)."""
    n_cols = values.shape[0]
    length = np.empty(n + 1, np.int64)
    length[0] = 0
    for i in prange(n):
        total = line_b[i] - line_a[i] + 1 + n_cols
        if has_mid:
            total += 1 + mid_text_len(mid_coef[i], mid_exp[i])
        for c in range(n_cols):
            total += _repr_len(np.signbit(values[c, i]), np.int64(ndigits[c, i]),
                               np.int64(decpt[c, i]), kind[c, i])
        length[i + 1] = total
    offset = np.cumsum(length)
    out = np.empty(offset[n], np.uint8)
    for i in prange(n):
        pos = offset[i]
        a, b = line_a[i], line_b[i]
        for q in range(b - a):
            out[pos + q] = buf[a + q]
        pos += b - a
        if has_mid:
            out[pos] = 44
            pos += 1
            coef, e = mid_coef[i], mid_exp[i]
            size = mid_text_len(coef, e)
            t = coef
            q = pos + size - 1
            written = 0
            while q >= pos:
                if e > 0 and written == e:
                    out[q] = 46
                else:
                    out[q] = 48 + t % 10
                    t //= 10
                written += 1
                q -= 1
            pos += size
        for c in range(n_cols):
            out[pos] = 44
            pos += 1
            v = values[c, i]
            pos = write_repr(out, pos, np.signbit(v), digits[c, i], np.int64(ndigits[c, i]),
                             np.int64(decpt[c, i]), kind[c, i])
        out[pos] = 10
    return out
