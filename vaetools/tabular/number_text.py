"""Numbers written for people: a currency sign, a percent sign, grouped thousands ($1,234.50,
51.3%, 1.234,50 €), as spreadsheets export them. pandas reads such a column as text, which has
too many values to be categories. ``NumberText`` learns a column's way of writing them, reads
them as exact decimals and writes numbers back the same way.
"""

from __future__ import annotations

import decimal
import json
import re
from dataclasses import asdict, dataclass

SIGNS = "$€£¥"


def pattern(decimal_mark: str = ".") -> re.Pattern:
    """A number with an optional sign, currency sign (before or after), percent sign and
    grouped thousands, for a CSV whose decimal mark is ``decimal_mark`` (its thousands are then
    grouped by commas, or by points or spaces)."""
    group = "," if decimal_mark == "." else r"[. \u00a0]"
    return re.compile(rf"^(?P<s1>[-+])?(?P<pre>[{SIGNS}]\s?)?(?P<s2>[-+])?(?P<int>\d{{1,3}}(?:{group}\d{{3}})+|\d+)"
                      rf"(?:{re.escape(decimal_mark)}(?P<frac>\d+))?(?P<post>\s?(?:%|[{SIGNS}]))?$")


@dataclass(frozen=True)
class NumberText:
    """How a column writes its numbers: ``prefix`` and ``suffix`` around the digits ("$", " €",
    "%"), the mark grouping thousands ("" for none), the decimal mark, and whether a minus sign
    goes after the prefix ($-5) rather than before it (-$5)."""

    prefix: str = ""
    suffix: str = ""
    group: str = ""
    decimal_mark: str = "."
    sign_inside: bool = False

    @classmethod
    def learn(cls, values, decimal_mark: str = ".") -> "NumberText | None":
        """The way ``values`` (text, stripped) write their numbers, or None where one of them is
        not a number so written, or none has a sign, a percent or grouped thousands (plain
        numbers, which pandas reads itself)."""
        regex = pattern(decimal_mark)
        found = [regex.match(v) for v in values]
        if not found or not all(found):
            return None
        affixes = {(m["pre"] or "", m["post"] or "") for m in found}
        groups = {g for m in found for g in re.findall(r"\D", m["int"])}
        if len(affixes) > 1 or len(groups) > 1 or affixes == {("", "")} and not groups:
            return None  # $5 beside 5%, or nothing to strip
        prefix, suffix = affixes.pop()
        return cls(prefix, suffix, groups.pop() if groups else "", decimal_mark,
                   any(m["s2"] for m in found) and not any(m["s1"] for m in found))

    def read(self, text: str) -> decimal.Decimal:
        m = pattern(self.decimal_mark).match(text.strip())
        if m is None:
            raise ValueError(f"{text!r} is not a number written as {self.example()}")
        digits = re.sub(r"\D", "", m["int"]) + (f".{m['frac']}" if m["frac"] else "")
        return decimal.Decimal(("-" if "-" in ((m["s1"] or "") + (m["s2"] or "")) else "") + digits)

    def write(self, value: decimal.Decimal) -> str:
        body = format(abs(value), ",f" if self.group else "f")
        body = body.replace(",", "\0").replace(".", self.decimal_mark).replace("\0", self.group)
        sign = "-" if value < 0 else ""
        return f"{self.prefix}{sign}{body}{self.suffix}" if self.sign_inside else \
            f"{sign}{self.prefix}{body}{self.suffix}"

    def example(self) -> str:
        return self.write(decimal.Decimal("1234.5"))

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> "NumberText | None":
        """A ``to_json`` text back, or None for one vaetools did not write."""
        try:
            d = json.loads(text)
            out = cls(**d)
        except (ValueError, TypeError):
            return None
        ok = all(isinstance(getattr(out, k), str) and len(getattr(out, k)) <= 3
                 for k in ("prefix", "suffix", "group", "decimal_mark"))
        return out if ok and isinstance(out.sign_inside, bool) and out.decimal_mark in ".," else None
