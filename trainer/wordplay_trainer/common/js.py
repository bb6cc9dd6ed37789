"""Numbers and JSON values as JavaScript writes them (String(x), JSON.stringify), so a message
reads the same from the trainer as from the extension's validator: 1 not 1.0, 0.00001 not
1e-05, 1e-7 not 1e-07, no spaces in JSON."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any


def js_number(x: float) -> str:
    """A number as JavaScript's String() writes it."""
    if isinstance(x, int) or x == 0:
        return str(int(x))
    _, digits, exponent = Decimal(repr(abs(x))).as_tuple()
    text = "".join(map(str, digits)).rstrip("0")
    k = len(text)  # significant digits
    n = int(exponent) + len(digits)  # the decimal point's place: x = 0.<text> * 10**n
    sign = "-" if x < 0 else ""
    if k <= n <= 21:
        return sign + text + "0" * (n - k)
    if 0 < n <= 21:
        return sign + text[:n] + "." + text[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * -n + text
    mantissa = text[0] + ("." + text[1:] if k > 1 else "")
    return f"{sign}{mantissa}e{'+' if n > 0 else '-'}{abs(n - 1)}"


def js_json(value: Any) -> str:
    """A JSON value as JavaScript's JSON.stringify writes it."""
    if isinstance(value, float):
        return js_number(value)
    if isinstance(value, dict):
        return (
            "{"
            + ",".join(f"{json.dumps(k, ensure_ascii=False)}:{js_json(v)}" for k, v in value.items())
            + "}"
        )
    if isinstance(value, list):
        return "[" + ",".join(js_json(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)
