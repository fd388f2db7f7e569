"""People, sites and the sensitive numbers they bring into support text.

A ``Person`` is drawn once per case role (contact, requester, site contact,
engineer, colleague) and then written many ways: the context columns hold
one canonical form, free text holds the variants people actually type
("Smith, John", "J. Smith", "JOHN SMITH", a phone with other separators or a
country prefix, an e-mail in other letter case). The PII stage must match
these variants to the context values, so the generator produces them.

Card numbers are Luhn-valid, IBANs carry correct ISO 7064 check digits and
SSNs avoid the never-issued areas, so pattern detectors that validate
checksums treat them as real.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from random import Random

from generator.vocabulary import (
    ASCII_FOLD,
    CITIES,
    COUNTRIES,
    ENGINEER_FIRST,
    ENGINEER_LAST,
    FIRST_NAMES,
    LAST_NAMES,
    STREETS,
)

__all__ = [
    "Person",
    "Site",
    "PeopleFactory",
    "card_number",
    "iban",
    "us_ssn",
]

#: Country codes repeated by weight: one uniform draw picks a weighted country.
_COUNTRY_BAG = tuple(code for code, (_, w) in COUNTRIES.items() for _ in range(w))


def _folded(names: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """(name, ASCII lower-case form for e-mail local parts), computed once."""
    return tuple((n, n.translate(ASCII_FOLD).lower()) for n in names)


_FIRST = {code: _folded(names) for code, names in FIRST_NAMES.items()}
_LAST = {code: _folded(names) for code, names in LAST_NAMES.items()}
_FIRST["HPE"] = _folded(ENGINEER_FIRST)
_LAST["HPE"] = _folded(ENGINEER_LAST)

#: National phone formats; {0}.. are the number's groups. The first one is the
#: form most often stored in the context columns.
_PHONE_FORMATS: dict[str, tuple[str, ...]] = {
    "US": ("+1 {0} {1} {2}", "({0}) {1}-{2}", "{0}-{1}-{2}", "{0}.{1}.{2}",
           "+1-{0}-{1}-{2}", "1 ({0}) {1}-{2}", "+1 ({0}) {1}-{2}"),
    "UK": ("+44 {0} {1} {2}", "0{0} {1} {2}", "+44 (0){0} {1} {2}",
           "+44{0}{1}{2}", "0{0}-{1}-{2}"),
    "DE": ("+49 {0} {1}", "0{0} {1}", "+49 (0){0} {1}", "+49-{0}-{1}", "0{0}/{1}"),
    "FR": ("+33 {0} {1} {2} {3} {4}", "0{0} {1} {2} {3} {4}", "0{0}.{1}.{2}.{3}.{4}",
           "+33 (0){0} {1} {2} {3} {4}", "+33{0}{1}{2}{3}{4}"),
    "IN": ("+91 {0} {1}", "0{0} {1}", "+91-{0}{1}", "{0} {1}", "+91 {0}-{1}"),
}
_US_AREAS = ("415", "312", "713", "404", "303", "617", "206", "919", "614", "408")
_UK_AREAS = (("20", "7946", "0"), ("161", "496", "0"), ("117", "496", "0"), ("113", "496", "0"))
_DE_AREAS = ("30", "89", "40", "69", "711", "221")


class Person:
    """One person of a case; ``*_ctx`` say whether a live context column holds them."""

    __slots__ = ("first", "last", "country", "email", "phone_groups", "phone",
                 "phone_key", "name_ctx", "email_ctx", "phone_ctx")

    def __init__(self, first: str, last: str, country: str, email: str,
                 phone_groups: tuple[str, ...], phone: str) -> None:
        self.first = first
        self.last = last
        self.country = country
        self.email = email
        self.phone_groups = phone_groups
        self.phone = phone
        #: ``#`` + last 8 digits: two people of a case never share it.
        self.phone_key = "#" + "".join(phone_groups)[-8:]
        self.name_ctx = False
        self.email_ctx = False
        self.phone_ctx = False

    def copy(self) -> Person:
        """A fresh copy (context flags are per case; pooled people are shared)."""
        return Person(self.first, self.last, self.country, self.email,
                      self.phone_groups, self.phone)

    @property
    def full(self) -> str:
        return f"{self.first} {self.last}"

    def name_variant(self, r: Random) -> str:
        """A written form of the full name (never the bare first or last name)."""
        k = int(r.random() * 10)
        if k < 5:
            return f"{self.first} {self.last}"
        if k < 7:
            return f"{self.last}, {self.first}"
        if k == 7:
            return f"{self.first[0]}. {self.last}"
        if k == 8:
            return f"{self.first} {self.last}".upper()
        return f"{self.first} {self.last}".lower()

    def phone_variant(self, r: Random) -> str:
        fmts = _PHONE_FORMATS[self.country]
        return fmts[int(r.random() * len(fmts))].format(*self.phone_groups)

    def email_variant(self, r: Random) -> str:
        k = int(r.random() * 6)
        if k < 3:
            return self.email
        local, _, domain = self.email.partition("@")
        if k == 3:
            return self.email.upper()
        if k == 4:
            return f"{'.'.join(p.capitalize() for p in local.split('.'))}@{domain}"
        return f"{local}@{domain.capitalize()}"

    def stored_name(self, r: Random) -> str:
        """The name as a context column holds it (mostly canonical)."""
        k = r.random()
        if k < 0.8:
            return self.full
        if k < 0.9:
            return f"{self.last}, {self.first}"
        return self.full.lower()


class Site:
    """A work-order site address; the text writes the street in other forms."""

    __slots__ = ("street", "street_alt", "city", "state", "postal", "country", "code", "ctx")

    def __init__(self, street: str, street_alt: str, city: str, state: str,
                 postal: str, country: str, code: str) -> None:
        self.street = street
        self.street_alt = street_alt
        self.city = city
        self.state = state
        self.postal = postal
        self.country = country
        self.code = code
        self.ctx = False

    def street_variant(self, r: Random) -> str:
        k = int(r.random() * 4)
        if k < 2:
            return self.street
        if k == 2:
            return self.street_alt
        return self.street.upper()


class PeopleFactory:
    """Draws people and sites with the case's random generator."""

    def __init__(self, r: Random) -> None:
        self.r = r

    def country(self) -> str:
        return _COUNTRY_BAG[int(self.r.random() * len(_COUNTRY_BAG))]

    def engineer(self, avoid: AbstractSet[str]) -> Person:
        """An HPE support engineer: a fixed staff that works many cases."""
        return self._from_pool(_ENGINEERS, avoid, "US", "hpe.com")

    def field_engineer(self, code: str, avoid: AbstractSet[str]) -> Person:
        """A partner field engineer (CE) of the country, unlike anyone in ``avoid``."""
        return self._from_pool(_FIELD[code], avoid, code, "fieldservice-partners.com")

    def _from_pool(self, pool: tuple[Person, ...], avoid: AbstractSet[str], code: str,
                   domain: str) -> Person:
        def clash(p: Person) -> bool:
            return p.first in avoid or p.last in avoid or p.phone_key in avoid

        for _ in range(3):
            p = pool[int(self.r.random() * len(pool))]
            if not clash(p):
                return p.copy()
        free = [p for p in pool if not clash(p)]
        if not free:
            return self.person(code, domain, avoid=avoid)
        return free[int(self.r.random() * len(free))].copy()

    def _name(self, names: tuple[tuple[str, str], ...], avoid: AbstractSet[str]) -> tuple[str, str]:
        """A (name, folded) pair whose name is not in ``avoid`` (random tries, then filter)."""
        r = self.r
        for _ in range(3):
            item = names[int(r.random() * len(names))]
            if item[0] not in avoid:
                return item
        free = [n for n in names if n[0] not in avoid]
        return free[int(r.random() * len(free))]

    def _phone(self, code: str) -> tuple[str, ...]:
        r = self.r
        if code == "US":
            return (_US_AREAS[int(r.random() * 10)], "555", f"01{int(r.random() * 100):02d}")
        if code == "UK":
            a, b, c = _UK_AREAS[int(r.random() * 4)]
            return (a, b, f"{c}{int(r.random() * 1000):03d}")
        if code == "DE":
            return (_DE_AREAS[int(r.random() * 6)], f"{100000 + int(r.random() * 8_900_000)}")
        if code == "FR":
            n = int(r.random() * 100_000_000)
            return (str(1 + int(r.random() * 5)), f"{n // 1_000_000:02d}",
                    f"{n // 10_000 % 100:02d}", f"{n // 100 % 100:02d}", f"{n % 100:02d}")
        return (f"{9 - int(r.random() * 3)}{int(r.random() * 10_000):04d}",
                f"{int(r.random() * 100_000):05d}")

    def person(self, code: str, domain: str, *, engineer: bool = False,
               avoid: AbstractSet[str] = frozenset()) -> Person:
        """A new person; first and last name both differ from the names in ``avoid``."""
        r = self.r
        firsts, lasts = (_FIRST["HPE"], _LAST["HPE"]) if engineer else (_FIRST[code], _LAST[code])
        first, f = self._name(firsts, avoid)
        last, l = self._name(lasts, avoid)
        k = int(r.random() * 4)
        local = f"{f}.{l}" if k < 2 else f"{f[0]}{l}" if k == 2 else f"{f}_{l}"
        groups = self._phone(code)
        while "#" + "".join(groups)[-8:] in avoid:
            groups = self._phone(code)
        fmt = _PHONE_FORMATS[code][0 if r.random() < 0.6 else int(r.random() * 3)]
        return Person(first, last, code, f"{local}@{domain}", groups, fmt.format(*groups))

    def site(self, code: str) -> Site:
        r = self.r
        cities, streets = CITIES[code], STREETS[code]
        city, state, prefix = cities[int(r.random() * len(cities))]
        name, alt = streets[int(r.random() * len(streets))]
        num = 1 + int(r.random() * 480)
        if code == "DE":
            street, street_alt = f"{name} {num}", f"{alt} {num}"
        else:
            street, street_alt = f"{num} {name}", f"{num} {alt}"
        if code == "US":
            postal = f"{prefix}{int(r.random() * 100):02d}"
        elif code == "UK":
            postal = f"{prefix} {int(r.random() * 10)}{'ABDEFGHJLNPQRSTUWXYZ'[int(r.random() * 20)]}" \
                     f"{'ABDEFGHJLNPQRSTUWXYZ'[int(r.random() * 20)]}"
        else:
            postal = f"{prefix}{int(r.random() * 1000):03d}"
        return Site(street, street_alt, city, state, postal, COUNTRIES[code][0], code)


def _luhn_digit(payload: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(payload)):
        d = ord(ch) - 48
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def card_number(r: Random) -> str:
    """A Luhn-valid Visa, Mastercard or Amex number, grouped as people write it."""
    k = int(r.random() * 3)
    if k == 2:
        payload = ("34", "37")[int(r.random() * 2)] + f"{int(r.random() * 10**12):012d}"
        n = payload + _luhn_digit(payload)
        return f"{n[:4]} {n[4:10]} {n[10:]}"
    payload = ("4" + f"{int(r.random() * 10**14):014d}") if k == 0 else \
        (f"5{1 + int(r.random() * 5)}" + f"{int(r.random() * 10**13):013d}")
    n = payload + _luhn_digit(payload)
    sep = (" ", "-", " ", "")[int(r.random() * 4)]
    return sep.join((n[:4], n[4:8], n[8:12], n[12:]))


def _iban_check(country: str, bban: str) -> str:
    digits = "".join(str(int(c, 36)) for c in bban + country) + "00"
    return f"{98 - int(digits) % 97:02d}"


def iban(r: Random) -> str:
    """A checksum-valid German, British or French IBAN, grouped or compact."""
    k = int(r.random() * 3)
    if k == 0:
        country, bban = "DE", f"{int(r.random() * 10**8):08d}{int(r.random() * 10**10):010d}"
    elif k == 1:
        bank = ("NWBK", "BARC", "LOYD", "HBUK")[int(r.random() * 4)]
        country, bban = "GB", f"{bank}{int(r.random() * 10**6):06d}{int(r.random() * 10**8):08d}"
    else:
        country, bban = "FR", f"{int(r.random() * 10**10):010d}{int(r.random() * 10**11):011d}" \
                              f"{int(r.random() * 100):02d}"
    value = f"{country}{_iban_check(country, bban)}{bban}"
    if r.random() < 0.5:
        return value
    return " ".join(value[i:i + 4] for i in range(0, len(value), 4))


def us_ssn(r: Random) -> str:
    """A US SSN in an issuable range (area not 000, 666 or 9xx)."""
    area = 1 + int(r.random() * 898)
    if area == 666:
        area = 667
    return f"{area:03d}-{1 + int(r.random() * 99):02d}-{1 + int(r.random() * 9999):04d}"


def _pools() -> tuple[tuple[Person, ...], dict[str, tuple[Person, ...]]]:
    """Staff pools, drawn once from a fixed seed (independent of the run's seed)."""
    pf = PeopleFactory(Random(20_251_101))
    engineers = tuple(pf.person(pf.country(), "hpe.com", engineer=True) for _ in range(240))
    field = {code: tuple(pf.person(code, "fieldservice-partners.com") for _ in range(60))
             for code in COUNTRIES}
    return engineers, field


_ENGINEERS, _FIELD = _pools()
