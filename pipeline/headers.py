"""Headers as people write them -> the SCIM headers of section 4 of the design.

An HR sheet says "First name" or "Employee ID"; a mapping file (`--map`, TOML) renames
anything else. Friendly names are matched ignoring case, spaces and punctuation.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from pipeline.errors import InputFileError, UsageError

_NOT_ALNUM = re.compile(r"[^0-9a-z]+")

FRIENDLY_HEADERS: dict[str, str] = {
    "username": "userName",
    "login": "userName",
    "loginname": "userName",
    "userprincipalname": "userName",
    "upn": "userName",
    "firstname": "name.givenName",
    "givenname": "name.givenName",
    "forename": "name.givenName",
    "middlename": "name.middleName",
    "lastname": "name.familyName",
    "surname": "name.familyName",
    "familyname": "name.familyName",
    "fullname": "displayName",
    "displayname": "displayName",
    "nickname": "nickName",
    "preferredname": "nickName",
    "email": "emails.work",
    "emailaddress": "emails.work",
    "mail": "emails.work",
    "workemail": "emails.work",
    "homeemail": "emails.home",
    "personalemail": "emails.home",
    "privateemail": "emails.home",
    "phone": "phoneNumbers.work",
    "workphone": "phoneNumbers.work",
    "officephone": "phoneNumbers.work",
    "telephone": "phoneNumbers.work",
    "mobile": "phoneNumbers.mobile",
    "mobilephone": "phoneNumbers.mobile",
    "mobilenumber": "phoneNumbers.mobile",
    "cell": "phoneNumbers.mobile",
    "cellphone": "phoneNumbers.mobile",
    "homephone": "phoneNumbers.home",
    "jobtitle": "title",
    "position": "title",
    "employeeid": "employeeNumber",
    "employeenumber": "employeeNumber",
    "employeeno": "employeeNumber",
    "empid": "employeeNumber",
    "staffid": "employeeNumber",
    "staffnumber": "employeeNumber",
    "dept": "department",
    "costcenter": "costCenter",
    "costcentre": "costCenter",
    "organisation": "organization",
    "company": "organization",
    "linemanager": "manager",
    "reportsto": "manager",
    "supervisor": "manager",
    "enabled": "active",
    "group": "groups",
    "teams": "groups",
    "externalid": "externalId",
    "usertype": "userType",
    "employeetype": "userType",
    "language": "preferredLanguage",
    "preferredlanguage": "preferredLanguage",
    "timezone": "timezone",
    "street": "addresses.work.streetAddress",
    "streetaddress": "addresses.work.streetAddress",
    "city": "addresses.work.locality",
    "town": "addresses.work.locality",
    "state": "addresses.work.region",
    "region": "addresses.work.region",
    "postcode": "addresses.work.postalCode",
    "postalcode": "addresses.work.postalCode",
    "zip": "addresses.work.postalCode",
    "zipcode": "addresses.work.postalCode",
    "country": "addresses.work.country",
}


def header_key(header: str) -> str:
    """A header with case, spaces and punctuation removed: `E-mail` -> `email`."""
    return _NOT_ALNUM.sub("", header.lower())


def friendly_target(header: str) -> str | None:
    """The SCIM header a well-known friendly header stands for, if any."""
    return FRIENDLY_HEADERS.get(header_key(header))


def read_mapping(path: Path) -> dict[str, str]:
    """A `--map` file: TOML pairs `"Sheet header" = "scim.header"`, at the top level
    or under a `[columns]` table."""
    if not path.is_file():
        raise UsageError(f"{path} does not exist; give the path of a TOML mapping file")
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise InputFileError(
            f"{path} is not valid TOML ({error}); write one line per column, "
            'e.g. "Personalnummer" = "employeeNumber"'
        ) from error
    table = document.get("columns", document)
    mapping: dict[str, str] = {}
    for source, target in table.items():
        if not isinstance(target, str):
            raise InputFileError(
                f"{path}: the target of {source!r} must be a header in quotes, "
                'e.g. "employeeNumber"'
            )
        mapping[source.strip()] = target.strip()
    return mapping
