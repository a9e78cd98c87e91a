"""Deterministic, varied tenants for the sandbox: users, groups, nesting, managers.

The data looks like a real tenant's: names in many scripts, work and home emails,
phones of several types, offices, enterprise attributes with zero-padded employee
numbers, managers, some suspended accounts, and a group nested in another.
"""

from __future__ import annotations

import random
import unicodedata
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"

WORK_DOMAIN = "example.com"
HOME_DOMAINS = ("example.net", "example.org")
ORGANIZATION = "Example Corp"
EPOCH = datetime(2021, 3, 1, 9, 0, tzinfo=UTC)
SPAN = timedelta(days=3 * 365)
"""Users are created over this span from EPOCH, and last modified within it."""


@dataclass(frozen=True)
class Office:
    """Where a user works; also gives the phone format, language and time zone."""

    locality: str
    street: str
    postal_code: str
    country: str
    phone: str
    mobile: str
    language: str
    timezone: str
    region: str | None = None


OFFICES = (
    Office("London", "1 Finsbury Avenue", "EC2M 2PF", "GB", "+44 20 7946 0{3}",
           "07700 900{3}", "en-GB", "Europe/London"),
    Office("Paris", "12 rue de la Paix", "75002", "FR", "+33 1 99 00 {2} {2}",
           "+33 6 39 98 {2} {2}", "fr-FR", "Europe/Paris", "Île-de-France"),
    Office("München", "Leopoldstraße 8", "80802", "DE", "+49 89 5550 {4}",
           "+49 151 2345 {4}", "de-DE", "Europe/Berlin", "Bayern"),
    Office("New York", "350 Fifth Avenue", "10118", "US", "+1 212 555 01{2}",
           "+1 917 555 01{2}", "en-US", "America/New_York", "NY"),
    Office("São Paulo", "Avenida Paulista 1000", "01310-100", "BR",
           "+55 11 5555 {4}", "+55 11 95555 {4}", "pt-BR", "America/Sao_Paulo", "SP"),
    Office("上海", "南京西路 1266 号", "200040", "CN", "+86 21 5555 {4}",
           "+86 138 0000 {4}", "zh-CN", "Asia/Shanghai"),
    Office("Αθήνα", "Λεωφόρος Βασιλίσσης Σοφίας 10", "106 74", "GR",
           "+30 21 0555 {4}", "+30 69 0555 {4}", "el-GR", "Europe/Athens"),
    Office("København", "Østergade 1", "1100", "DK", "+45 33 55 {2} {2}",
           "+45 20 55 {2} {2}", "da-DK", "Europe/Copenhagen"),
)  # fmt: skip

# Each culture: given names, family names, family name first, home office index.
# A name in another script carries its romanisation after "|", used for emails.
CULTURES: tuple[tuple[tuple[str, ...], tuple[str, ...], bool, int], ...] = (
    (("Zoë", "Chloé", "Noémie", "François", "Renée", "Théo", "Hélène"),
     ("Dubois", "Lefèvre", "Moreau", "Bélanger", "Girard", "Lemaître"), False, 1),
    (("José", "Inês", "João", "María", "Sofía", "Mateo", "Tomás"),
     ("Müller", "García", "Araújo", "Peña", "Gonçalves", "Núñez"), False, 4),
    (("Jürgen", "Björn", "Anja", "Maximilian", "Lena", "Günther"),
     ("Schäfer", "Ångström", "Lindström", "Groß", "Köhler", "Weiß"), False, 2),
    (("Søren", "Ørjan", "Åsa", "Mette", "Þóra", "Ólafur"),
     ("Ørsted", "Kierkegaard", "Jørgensen", "Sigurðsson", "Nørgaard"), False, 7),
    (("Łukasz", "Zoltán", "Dragana", "Miloš", "Agnieszka", "Čeněk"),
     ("Đorđević", "Wiśniewska", "Dvořák", "Kovács", "Horváth", "Jovanović"), False, 2),
    (("Siobhán", "Aoife", "Seán", "Liam", "Emma", "Olivia", "Noah"),
     ("O'Brien", "Smith-Jones", "van der Berg", "MacDonald", "Nguyễn", "Patel"),
     False, 0),
    (("Ngozi", "Chinedu", "Amara", "Kwame", "Thandiwe", "Yusuf"),
     # The dotless i of Turkish is meant.
     ("Okafor", "Adeyemi", "Mensah", "Mbeki", "Çelik", "Yılmaz"), False, 3),  # noqa: RUF001
    (("雷|Lei", "梅梅|Meimei", "芳|Fang", "伟|Wei", "静|Jing", "磊|Lei"),
     ("李|Li", "韩|Han", "王|Wang", "张|Zhang", "刘|Liu", "陈|Chen"), True, 5),
    (("Σοφία|Sofia", "Γιώργος|Giorgos", "Ελένη|Eleni", "Νίκος|Nikos"),
     ("Παπαδοπούλου|Papadopoulou", "Νικολάου|Nikolaou", "Οικονόμου|Oikonomou"),
     False, 6),
    (("Анна|Anna", "Дмитрий|Dmitry", "Ольга|Olga", "Иван|Ivan"),
     ("Иванова|Ivanova", "Смирнов|Smirnov", "Кузнецова|Kuznetsova"), False, 7),
    (("健|Ken", "花子|Hanako", "由紀|Yuki", "翔太|Shota"),
     ("佐藤|Sato", "鈴木|Suzuki", "高橋|Takahashi", "田中|Tanaka"), True, 5),
    (("민준|Minjun", "서연|Seoyeon", "지호|Jiho"),
     ("김|Kim", "이|Lee", "박|Park"), True, 3),
    (("ليلى|Layla", "عمر|Omar", "نور|Nour"),
     ("حداد|Haddad", "خليل|Khalil", "منصور|Mansour"), False, 0),
    (("प्रिया|Priya", "अर्जुन|Arjun", "अनन्या|Ananya"),
     ("शर्मा|Sharma", "सिंह|Singh", "गुप्ता|Gupta"), False, 0),
)  # fmt: skip

DEPARTMENTS = (
    ("Engineering", "CC-1040", ("Software Engineer", "Senior Software Engineer",
                                "Staff Engineer", "Engineering Manager")),
    ("Design", "CC-1060", ("Product Designer", "UX Researcher", "Design Lead")),
    ("Data & Analytics", "CC-1070", ("Data Engineer", "Data Scientist",
                                     "Analytics Lead")),
    ("Sales", "CC-2010", ("Account Executive", "Sales Development Rep",
                          "Regional Sales Director")),
    ("Finance", "CC-3050", ("Accountant", "Financial Analyst", "Controller")),
    ("People", "CC-3100", ("HR Business Partner", "Recruiter", "Head of People")),
    ("Support", "CC-2200", ("Support Specialist", "Support Team Lead")),
    ("Marketing", "CC-2300", ("Content Marketer", "Product Marketing Manager",
                           "Head of Marketing")),
    ("Legal", "CC-3200", ("Paralegal", "Legal Counsel", "General Counsel")),
    ("Operations", "CC-3300", ("Operations Analyst", "Office Manager",
                            "Head of Operations")),
)  # fmt: skip

NESTED_GROUP = "Product & Engineering"
"""A group whose members are the groups of these departments."""
NESTED_DEPARTMENTS = ("Engineering", "Design", "Data & Analytics")
PROJECTS = ("Aurora", "Borealis", "Cobalt", "Delta", "Ember", "Fjord", "Granite")

ASCII_LETTERS = str.maketrans(
    {"ø": "o", "Ø": "O", "đ": "d", "Đ": "D", "ł": "l", "Ł": "L", "ß": "ss",
     "æ": "ae", "Æ": "AE", "œ": "oe", "þ": "th", "Þ": "Th", "ð": "d", "\u0131": "i"}
)  # fmt: skip


@dataclass(frozen=True)
class Person:
    """A user to be: names, their romanisations, and where the person works."""

    given: str
    family: str
    ascii_given: str
    ascii_family: str
    office: Office
    family_first: bool = False

    @classmethod
    def of(
        cls, given: str, family: str, office: int, family_first: bool = False
    ) -> Person:
        """Build a person from names written "native|romanised" or plain."""
        given, _, ascii_given = given.partition("|")
        family, _, ascii_family = family.partition("|")
        return cls(
            given,
            family,
            ascii_given or romanise(given),
            ascii_family or romanise(family),
            OFFICES[office],
            family_first,
        )

    @property
    def display_name(self) -> str:
        if not self.family_first:
            return f"{self.given} {self.family}"
        # Chinese, Japanese and Korean names are written without a space.
        wide = all(unicodedata.east_asian_width(c) == "W" for c in self.family)
        return f"{self.family}{'' if wide else ' '}{self.given}"


def romanise(name: str) -> str:
    """Return a Latin name without its diacritics: "Đorđević" gives "Dordevic"."""
    decomposed = unicodedata.normalize("NFKD", name.translate(ASCII_LETTERS))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def random_person(rng: random.Random) -> Person:
    """Draw a person from one of the cultures."""
    given_names, family_names, family_first, office = rng.choice(CULTURES)
    if rng.random() < 0.2:
        office = rng.randrange(len(OFFICES))
    return Person.of(
        rng.choice(given_names), rng.choice(family_names), office, family_first
    )


def random_id(rng: random.Random) -> str:
    """Return an id shaped like a server's UUID, drawn from ``rng``."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def generate_seed(users: int = 2000, groups: int = 20, seed: int = 1) -> dict:
    """Return a tenant of ``users`` users and ``groups`` groups, the same for a seed."""
    rng = random.Random(seed)
    people = [random_person(rng) for _ in range(users)]
    return build_seed(
        people, groups, rng, user_id=lambda _: random_id(rng),
        group_id=lambda _: random_id(rng),
    )  # fmt: skip


def build_seed(
    people: Sequence[Person],
    groups: int,
    rng: random.Random,
    user_id: Callable[[int], str],
    group_id: Callable[[int], str],
) -> dict[str, list[dict[str, Any]]]:
    """Return ``{"users": [...], "groups": [...]}`` for these people."""
    builder = _TenantBuilder(rng, len(people))
    user_list = [
        builder.user(user_id(index), index, person)
        for index, person in enumerate(people)
    ]
    return {"users": user_list, "groups": builder.groups(groups, group_id)}


class _TenantBuilder:
    """Build users one by one, remembering what the groups will need."""

    def __init__(self, rng: random.Random, size: int) -> None:
        self.rng = rng
        self.step = SPAN.total_seconds() / max(size, 1)
        width = max(5, len(str(size * 20)))
        numbers = rng.sample(range(100, 10 ** (width - 1)), size)
        self.employee_numbers = [f"{number:0{width}d}" for number in numbers]
        self.user_names: set[str] = set()
        self.by_department: dict[str, list[dict[str, Any]]] = {}
        self.by_office: dict[str, list[dict[str, Any]]] = {}
        self.users: list[dict[str, Any]] = []

    def user(self, identifier: str, index: int, person: Person) -> dict[str, Any]:
        rng = self.rng
        department, cost_center, titles = DEPARTMENTS[
            _department_index(index, rng, len(DEPARTMENTS))
        ]
        colleagues = self.by_department.setdefault(department, [])
        user_name = self._user_name(person)
        kind = rng.choices(("Employee", "Contractor", "Intern"), (17, 2, 1))[0]
        user: dict[str, Any] = {
            "schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA],
            "id": identifier,
            "externalId": f"hr-{index + 1:06d}" if rng.random() < 0.9 else None,
            "meta": self._meta(index),
            "userName": user_name,
            **_profile(person, rng),
            "title": titles[-1] if not colleagues else rng.choice(titles[:-1]),
            "userType": kind,
            "active": rng.random() >= 0.07,
            "emails": _emails(user_name, rng),
            "phoneNumbers": _phones(person.office, rng),
            "addresses": _addresses(person.office) if rng.random() < 0.5 else None,
            ENTERPRISE_SCHEMA: {
                "employeeNumber": self.employee_numbers[index],
                "costCenter": cost_center,
                "organization": ORGANIZATION,
                "department": department,
            },
        }
        if colleagues:
            # The first few of a department lead it; everyone reports to one of them.
            manager = rng.choice(colleagues[:4])
            user[ENTERPRISE_SCHEMA]["manager"] = {"value": manager["id"]}
        user = _without_nulls(user)
        colleagues.append(user)
        self.by_office.setdefault(person.office.locality, []).append(user)
        self.users.append(user)
        return user

    def _meta(self, index: int) -> dict[str, str]:
        """Spread creations over SPAN, each modified at some later time within it."""
        offset = int(self.step * index) + self.rng.randrange(3600)
        changed = int(self.rng.random() * max(0, SPAN.total_seconds() - offset))
        created = EPOCH + timedelta(seconds=offset)
        return {
            "resourceType": "User",
            "created": _timestamp(created),
            "lastModified": _timestamp(created + timedelta(seconds=changed)),
        }

    def groups(
        self, count: int, group_id: Callable[[int], str]
    ) -> list[dict[str, Any]]:
        """Return the groups: a nesting one, departments, offices, projects."""
        specs: list[tuple[str, list[dict[str, Any]]]] = [(NESTED_GROUP, [])]
        specs += [(name, members) for name, members in self.by_department.items()]
        specs += [
            (f"Office {name}", members) for name, members in self.by_office.items()
        ]
        specs += [(f"Project {name}", self._sample()) for name in PROJECTS]
        specs += [
            (f"Team {n + 1:02d}", self._sample()) for n in range(count - len(specs))
        ]
        groups = [
            _group(group_id(index), name, members, index)
            for index, (name, members) in enumerate(specs[:count])
        ]
        _nest(groups)
        return groups

    def _sample(self) -> list[dict[str, Any]]:
        size = min(len(self.users), self.rng.randint(3, 12))
        return [
            self.users[i] for i in sorted(self.rng.sample(range(len(self.users)), size))
        ]

    def _user_name(self, person: Person) -> str:
        base = f"{person.ascii_given}.{person.ascii_family}".lower()
        base = "".join(c for c in base if c.isalnum() or c in ".-")
        user_name, number = f"{base}@{WORK_DOMAIN}", 1
        while user_name in self.user_names:
            number += 1
            user_name = f"{base}{number}@{WORK_DOMAIN}"
        self.user_names.add(user_name)
        return user_name


def _department_index(index: int, rng: random.Random, size: int) -> int:
    """Fill every department once first, so each has a head; then draw at random."""
    return index if index < size else rng.randrange(size)


def _profile(person: Person, rng: random.Random) -> dict[str, Any]:
    """Return the attributes of a person's name, language and place."""
    return {
        "name": {
            "formatted": person.display_name,
            "familyName": person.family,
            "givenName": person.given,
            "honorificPrefix": "Dr." if rng.random() < 0.05 else None,
        },
        "displayName": person.display_name,
        "nickName": person.ascii_given if rng.random() < 0.1 else None,
        "preferredLanguage": person.office.language,
        "locale": person.office.language,
        "timezone": person.office.timezone,
    }


def _emails(user_name: str, rng: random.Random) -> list[dict[str, Any]]:
    emails = [{"value": user_name, "type": "work", "primary": True}]
    if rng.random() < 0.4:
        local = user_name.partition("@")[0].replace(".", "_")
        domain = rng.choice(HOME_DOMAINS)
        emails.append({"value": f"{local}@{domain}", "type": "home"})
    return emails


def _phones(office: Office, rng: random.Random) -> list[dict[str, str]] | None:
    phones = [
        {"value": _digits(pattern, rng), "type": kind}
        for kind, pattern, share in (
            ("work", office.phone, 0.8),
            ("mobile", office.mobile, 0.7),
            ("home", office.phone, 0.15),
        )
        if rng.random() < share
    ]
    return phones or None


def _digits(pattern: str, rng: random.Random) -> str:
    """Fill each "{n}" of a phone pattern with n random digits."""
    parts = pattern.split("{")
    filled = [parts[0]]
    for part in parts[1:]:
        width, _, rest = part.partition("}")
        filled.append(f"{rng.randrange(10 ** int(width)):0{width}d}{rest}")
    return "".join(filled)


def _addresses(office: Office) -> list[dict[str, Any]]:
    address = {
        "type": "work",
        "streetAddress": office.street,
        "locality": office.locality,
        "region": office.region,
        "postalCode": office.postal_code,
        "country": office.country,
        "primary": True,
    }
    return [{key: value for key, value in address.items() if value is not None}]


def _group(
    identifier: str, name: str, members: list[dict[str, Any]], index: int
) -> dict[str, Any]:
    created = _timestamp(EPOCH + timedelta(days=index))
    return {
        "schemas": [GROUP_SCHEMA],
        "id": identifier,
        "meta": {"resourceType": "Group", "created": created, "lastModified": created},
        "displayName": name,
        "members": [_member(user, "User") for user in members],
    }


def _nest(groups: list[dict[str, Any]]) -> None:
    """Make the nesting group hold the groups of its departments."""
    nesting = groups[0]
    for group in groups[1:]:
        if group["displayName"] in NESTED_DEPARTMENTS:
            nesting["members"].append(_member(group, "Group"))
    if not nesting["members"] and len(groups) > 1:
        nesting["members"].append(_member(groups[1], "Group"))


def _member(resource: dict[str, Any], kind: str) -> dict[str, str]:
    return {
        "value": resource["id"],
        "$ref": f"{kind}s/{resource['id']}",
        "type": kind,
        "display": resource["displayName"],
    }


def _timestamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _without_nulls(value: Any) -> Any:
    """Return a document without its None values, as a server leaves them out."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(item) for item in value]
    return value
