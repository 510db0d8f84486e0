"""Direct identifiers in text: the detectors behind the de-identification scan (``audits.privacy.scan``) and the
de-identification of training text (``redact``, used before a language model is trained).

Detectors are regular expressions with validation where one exists (Luhn for card numbers, octet ranges for IPv4),
plus a person-name heuristic (a capitalised common first name followed by a capitalised word, or a title such as
"Dr." before one). ``mask`` shows enough of a value to recognise its kind, never the value.
"""

from __future__ import annotations

import re

PATTERNS = {  # checked in this order; a span taken by one kind is not reported again as another
    "email": re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b"),
    "ssn": re.compile(r"\b\d{3}-\d{2}-\d{4}\b"),
    "credit_card": re.compile(r"\b(?:\d[ -]?){12,18}\d\b"),
    "ipv4": re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b"),
    "phone": re.compile(r"(?<![\w-])(?<!\d[ .])(?:\+\d{1,3}[ .-]?)?(?:\(\d{2,4}\)[ .-]?|\d{2,4}[ .-])"
                        r"\d{3,4}[ .-]\d{3,4}(?![\w-]|[ .]\d)"),
    "id_number": re.compile(r"\b(?=[A-Z0-9-]*\d)[A-Z]{1,3}-?\d{6,10}\b|\b\d{9,12}\b"),
}
TITLES = r"(?:Mr|Mrs|Ms|Miss|Dr|Prof)\.?"
FIRST_NAMES = frozenset("""
james mary robert patricia john jennifer michael linda david elizabeth william barbara richard susan joseph
jessica thomas sarah charles karen christopher lisa daniel nancy matthew betty anthony sandra mark margaret
donald ashley steven kimberly paul emily andrew donna joshua michelle kenneth carol kevin amanda brian melissa
george deborah timothy stephanie ronald rebecca edward sharon jason laura jeffrey cynthia ryan kathleen jacob
amy gary angela nicholas shirley eric anna jonathan brenda stephen pamela larry emma justin nicole scott helen
brandon samantha benjamin katherine samuel christine gregory debra alexander rachel frank carolyn patrick
janet raymond catherine jack maria dennis heather jerry diane tyler ruth aaron julie jose olivia adam joyce
henry virginia nathan victoria douglas kelly zachary lauren peter christina kyle joan ethan evelyn walter
judith noah megan jeremy andrea christian cheryl keith hannah roger jacqueline terry martha gerald gloria
harold teresa sean ann austin sara carl madison arthur frances lawrence kathryn dylan janice jesse jean jordan
abigail bryan alice billy julia joe judy bruce sophia gabriel grace logan denise albert amber willie doris
alan marilyn juan danielle wayne beverly elijah isabella randy theresa roy diana vincent natalie ralph
brittany eugene charlotte russell marie bobby kayla mason alexis philip lori louis alan mohammed ahmed wei
priya aisha fatima carlos luis ana sofia lucas liam mia oliver ava
""".split())
NAME_PAIR = re.compile(r"(?=\b([A-Z][a-z]+)\s+([A-Z][a-z]+(?:-[A-Z][a-z]+)?)\b)")  # overlapping
TITLED = re.compile(rf"\b{TITLES}\s+[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?")
NAME_HINTS = re.compile(r"(^|_)((first|last|full|given|family)_?name|name|surname|e_?mail|phone|telephone|mobile|ssn|"
                        r"address|street|zip|zipcode|postcode|dob|date_of_birth|birthdate|(customer|patient|user|"
                        r"person|employee|account)_?id)$", re.IGNORECASE)


def _luhn(digits: str) -> bool:
    total, alt = 0, False
    for ch in reversed(digits):
        d = ord(ch) - 48
        if alt:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
        alt = not alt
    return total % 10 == 0


def _valid(kind: str, text: str) -> bool:
    if kind == "credit_card":
        digits = re.sub(r"\D", "", text)
        return 13 <= len(digits) <= 19 and _luhn(digits)
    if kind == "ipv4":
        return all(int(p) <= 255 for p in text.split("."))
    if kind == "phone":
        return 9 <= len(re.sub(r"\D", "", text)) <= 15
    return True


def mask(kind: str, text: str) -> str:
    """Enough to recognise the kind of value, not the value: j***@e***.com, ***-***-4321, J*** S***."""
    if kind == "email":
        user, _, domain = text.partition("@")
        host, _, tld = domain.rpartition(".")
        return f"{user[:1]}***@{host[:1]}***.{tld}"
    if kind in ("phone", "ssn", "credit_card", "id_number"):
        digits = re.sub(r"\D", "", text)
        return "***" + digits[-2:]
    if kind == "ipv4":
        return text.split(".")[0] + ".***.***.***"
    return " ".join(w[:1] + "***" for w in text.split())


def find(text: str) -> list[tuple[str, str]]:
    """Every (kind, match) in one string; card numbers are not also reported as phones or ids."""
    out, taken = [], []
    for kind, pattern in PATTERNS.items():
        for m in pattern.finditer(text):
            if any(a <= m.start() < b or a < m.end() <= b for a, b in taken):
                continue
            if _valid(kind, m.group()):
                out.append((kind, m.group()))
                taken.append(m.span())
    for m in TITLED.finditer(text):
        out.append(("person_name", m.group()))
    for m in NAME_PAIR.finditer(text):
        full = f"{m.group(1)} {m.group(2)}"
        if m.group(1).lower() in FIRST_NAMES and not any(full in v or m.group(1) in v.split()[-1:]
                                                         for k, v in out if k == "person_name"):
            out.append(("person_name", full))
    return out


def redact(text: str) -> tuple[str, list[str]]:
    """``text`` with every identifier ``find`` reports replaced by its kind in brackets (``[EMAIL]``, ``[PHONE]``,
    ``[PERSON_NAME]``...), and the kinds replaced."""
    kinds = []
    for kind, value in sorted(find(text), key=lambda kv: -len(kv[1])):  # longest first: a name inside a titled name
        if value in text:
            text = text.replace(value, f"[{kind.upper()}]")
            kinds.append(kind)
    return text, kinds
