"""Who may do what: the permission rules of the web app and its API, in one pure module.

Every operation the web app offers goes through :mod:`.service`, which asks these functions
before touching a gallery; hiding a tab in the page is a convenience, never the protection.

=============  ======================================  =====================================
role           brands                                  may
=============  ======================================  =====================================
officer        all                                     inspect, read references, workshop,
                                                       record outcomes of own inspections
right_holder   only those assigned                     manage the gallery, inspect, workshop,
                                                       confirm outcomes of their brands
trainer        all                                     workshop (comparison, quiz)
admin          all                                     everything, plus users and brands
=============  ======================================  =====================================
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .accounts import User

OFFICER, RIGHT_HOLDER, TRAINER, ADMIN = "officer", "right_holder", "trainer", "admin"
ROLES = (OFFICER, RIGHT_HOLDER, TRAINER, ADMIN)

#: What an inspection can turn out to be, and which roles may record each outcome.
OUTCOMES = {
    "seized": (OFFICER, ADMIN),
    "released": (OFFICER, ADMIN),
    "confirmed_fake": (RIGHT_HOLDER, ADMIN),
    "confirmed_genuine": (RIGHT_HOLDER, ADMIN),
}

# Tabs of the web app, per role.
INSPECT, RECORDS, GALLERY, WORKSHOP, USERS = "inspect", "records", "gallery", "workshop", "users"
_TABS = {
    OFFICER: (INSPECT, RECORDS, WORKSHOP),
    RIGHT_HOLDER: (GALLERY, INSPECT, RECORDS, WORKSHOP),
    TRAINER: (WORKSHOP,),
    ADMIN: (INSPECT, RECORDS, GALLERY, WORKSHOP, USERS),
}


def tabs(user: User) -> tuple[str, ...]:
    return _TABS[user.role]


def sees_brand(user: User, brand: str) -> bool:
    """Whether the user may see a brand at all: its products, references and inspections."""
    return user.role != RIGHT_HOLDER or brand in user.brands


def visible_brands(user: User, brands: Iterable[str]) -> list[str]:
    return [b for b in brands if sees_brand(user, b)]


def can_inspect(user: User, brand: str) -> bool:
    return INSPECT in tabs(user) and sees_brand(user, brand)


def can_manage(user: User, brand: str) -> bool:
    """Add and remove references, products, notes and identification points; set the brand's
    operating point."""
    return user.role == ADMIN or (user.role == RIGHT_HOLDER and brand in user.brands)


def can_run_workshop(user: User, brand: str) -> bool:
    return WORKSHOP in tabs(user) and sees_brand(user, brand)


def can_manage_users(user: User) -> bool:
    return user.role == ADMIN


def sees_inspection(user: User, officer: str, brand: str) -> bool:
    """Officers see their own inspections, right holders those of their brands, admins all."""
    if user.role == ADMIN:
        return True
    if user.role == OFFICER:
        return officer == user.name
    if user.role == RIGHT_HOLDER:
        return brand in user.brands
    return False


def inspection_scope(user: User) -> tuple[str | None, tuple[str, ...] | None] | None:
    """:func:`sees_inspection` as a filter for listing: (officer, brands) to restrict to, each
    None for no restriction; None when the user sees no inspections at all."""
    if user.role == ADMIN:
        return None, None
    if user.role == OFFICER:
        return user.name, None
    if user.role == RIGHT_HOLDER:
        return None, user.brands
    return None


def can_record_outcome(user: User, outcome: str, officer: str, brand: str) -> bool:
    return user.role in OUTCOMES.get(outcome, ()) and sees_inspection(user, officer, brand)
