"""Who may do what: the permission rules of the web app and its API, in one pure module.

Every operation the web app offers goes through :mod:`ipr_vision.app.service`, which asks these
functions before touching a gallery; hiding a tab in the page is a convenience, never the
protection.

=============  ======================================  =====================================
role           brands                                  may
=============  ======================================  =====================================
officer        all                                     inspect, read references, workshop,
                                                       record outcomes of own inspections
right_holder   only those assigned                     manage the gallery, inspect, workshop,
                                                       confirm outcomes of their brands,
                                                       download their brands' signed packages
trainer        all                                     workshop (comparison, quiz)
admin          all                                     everything, plus users and brands,
                                                       and importing signed packages
=============  ======================================  =====================================
"""

from __future__ import annotations

from collections.abc import Iterable

from ..domain import Outcome, Role, User

#: Which roles may record each outcome.
OUTCOME_ROLES: dict[str, tuple[Role, ...]] = {
    Outcome.SEIZED: (Role.OFFICER, Role.ADMIN),
    Outcome.RELEASED: (Role.OFFICER, Role.ADMIN),
    Outcome.CONFIRMED_FAKE: (Role.RIGHT_HOLDER, Role.ADMIN),
    Outcome.CONFIRMED_GENUINE: (Role.RIGHT_HOLDER, Role.ADMIN),
}

# Tabs of the web app, per role.
INSPECT, RECORDS, GALLERY, WORKSHOP, USERS = "inspect", "records", "gallery", "workshop", "users"
_TABS: dict[Role, tuple[str, ...]] = {
    Role.OFFICER: (INSPECT, RECORDS, WORKSHOP),
    Role.RIGHT_HOLDER: (GALLERY, INSPECT, RECORDS, WORKSHOP),
    Role.TRAINER: (WORKSHOP,),
    Role.ADMIN: (INSPECT, RECORDS, GALLERY, WORKSHOP, USERS),
}


def tabs(user: User) -> tuple[str, ...]:
    return _TABS[user.role]


def sees_brand(user: User, brand: str) -> bool:
    """Whether the user may see a brand at all: its products, references and inspections."""
    return user.role != Role.RIGHT_HOLDER or brand in user.brands


def visible_brands(user: User, brands: Iterable[str]) -> list[str]:
    return [b for b in brands if sees_brand(user, b)]


def can_inspect(user: User, brand: str) -> bool:
    return INSPECT in tabs(user) and sees_brand(user, brand)


def can_manage(user: User, brand: str) -> bool:
    """Add and remove references, products, notes and identification points; set the brand's
    operating point."""
    return user.role == Role.ADMIN or (user.role == Role.RIGHT_HOLDER and brand in user.brands)


def can_run_workshop(user: User, brand: str) -> bool:
    return WORKSHOP in tabs(user) and sees_brand(user, brand)


def can_manage_users(user: User) -> bool:
    return user.role == Role.ADMIN


def sees_inspection(user: User, officer: str, brand: str) -> bool:
    """Officers see their own inspections, right holders those of their brands, admins all."""
    if user.role == Role.ADMIN:
        return True
    if user.role == Role.OFFICER:
        return officer == user.name
    if user.role == Role.RIGHT_HOLDER:
        return brand in user.brands
    return False


def inspection_scope(user: User) -> tuple[str | None, tuple[str, ...] | None] | None:
    """:func:`sees_inspection` as a filter for listing: (officer, brands) to restrict to, each
    None for no restriction; None when the user sees no inspections at all."""
    if user.role == Role.ADMIN:
        return None, None
    if user.role == Role.OFFICER:
        return user.name, None
    if user.role == Role.RIGHT_HOLDER:
        return None, user.brands
    return None


def can_record_outcome(user: User, outcome: str, officer: str, brand: str) -> bool:
    return user.role in OUTCOME_ROLES.get(outcome, ()) and sees_inspection(user, officer, brand)


def recordable_outcomes(user: User) -> list[Outcome]:
    """The outcomes the user's role may record, in order: all a page should offer them (an
    officer decides on the goods, a right holder confirms what they were)."""
    return [outcome for outcome in Outcome if user.role in OUTCOME_ROLES[outcome]]


def can_export_package(user: User, brand: str) -> bool:
    """Download a signed package of the brand's references, for customs galleries: the brand's
    right holder, whose references and key they are (and admins, who may do anything)."""
    return can_manage(user, brand)


def can_import_package(user: User) -> bool:
    """Apply a signed package to this gallery: it changes a brand's references on the word of
    a key the gallery trusts, which is an admin's decision, as trusting the key was."""
    return user.role == Role.ADMIN


def sees_packages(user: User, brand: str | None = None) -> bool:
    """See the keys trusted for a brand and its packages imported and written: admins, and the
    brand's right holder. Without a brand: whether the user sees any brand's (a listing then
    keeps the brands :func:`sees_packages` allows)."""
    if brand is None:
        return user.role in (Role.ADMIN, Role.RIGHT_HOLDER)
    return can_manage(user, brand)
