"""What each role may do: the pure permission table behind every check the service makes."""

from __future__ import annotations

import pytest

from ipr_vision.core import roles
from ipr_vision.domain import Role, User

OLGA = User("olga", Role.OFFICER)
RITA = User("rita", Role.RIGHT_HOLDER, ("nike",))
TOM = User("tom", Role.TRAINER)
ADA = User("ada", Role.ADMIN)
ALL_TABS = ("inspect", "records", "gallery", "workshop", "users")

#: user: (tabs, sees/inspects/manages/workshops nike, same for acme, manages users)
#: as (sees, inspect, manage, workshop) tuples.
ROLE_TABLE = {
    "olga": (("inspect", "records", "workshop"), (1, 1, 0, 1), (1, 1, 0, 1), False),
    "rita": (("gallery", "inspect", "records", "workshop"), (1, 1, 1, 1), (0, 0, 0, 0), False),
    "tom": (("workshop",), (1, 0, 0, 1), (1, 0, 0, 1), False),
    "ada": (ALL_TABS, (1, 1, 1, 1), (1, 1, 1, 1), True),
}
USERS = {u.name: u for u in (OLGA, RITA, TOM, ADA)}


@pytest.mark.parametrize("name", ROLE_TABLE)
def test_role_table(name: str) -> None:
    user = USERS[name]
    tabs, nike, acme, manages_users = ROLE_TABLE[name]
    assert roles.tabs(user) == tabs
    for brand, expected in (("nike", nike), ("acme", acme)):
        got = (roles.sees_brand(user, brand), roles.can_inspect(user, brand),
               roles.can_manage(user, brand), roles.can_run_workshop(user, brand))
        assert got == tuple(bool(e) for e in expected), (name, brand)
    assert roles.can_manage_users(user) is manages_users


def test_every_role_has_a_tab_list_and_only_known_tabs() -> None:
    assert set(Role) == {"officer", "right_holder", "trainer", "admin"}
    for role in Role:
        tabs = roles.tabs(User("x", role, ("nike",) if role == Role.RIGHT_HOLDER else ()))
        assert tabs and set(tabs) <= set(ALL_TABS)


def test_right_holder_of_several_brands_and_visible_brands() -> None:
    both = User("rh", Role.RIGHT_HOLDER, ("acme", "nike"))
    assert roles.can_manage(both, "acme") and roles.can_manage(both, "nike")
    assert not roles.can_manage(both, "puma") and not roles.sees_brand(both, "puma")
    gallery_brands = ["acme", "nike", "puma"]
    assert roles.visible_brands(RITA, gallery_brands) == ["nike"]
    assert roles.visible_brands(both, gallery_brands) == ["acme", "nike"]
    for user in (OLGA, TOM, ADA):
        assert roles.visible_brands(user, gallery_brands) == gallery_brands
    assert roles.visible_brands(RITA, []) == []
    # Brand names are exact: no prefix or case games.
    assert not roles.sees_brand(RITA, "Nike") and not roles.sees_brand(RITA, "nik")


#: Two inspections: olga's of nike and oscar's of acme.
INSPECTIONS = {"olga-nike": ("olga", "nike"), "oscar-acme": ("oscar", "acme"),
               "oscar-nike": ("oscar", "nike")}
SEES = {
    "olga": {"olga-nike"},
    "rita": {"olga-nike", "oscar-nike"},
    "tom": set(),
    "ada": set(INSPECTIONS),
}


@pytest.mark.parametrize("name", SEES)
def test_sees_inspection(name: str) -> None:
    user = USERS[name]
    seen = {key for key, (officer, brand) in INSPECTIONS.items()
            if roles.sees_inspection(user, officer, brand)}
    assert seen == SEES[name]


@pytest.mark.parametrize("name", SEES)
def test_inspection_scope_lists_what_sees_inspection_allows(name: str) -> None:
    """The listing filter and the per-inspection rule are two forms of one rule."""
    scope = roles.inspection_scope(USERS[name])
    listed = set() if scope is None else {
        key for key, (officer, brand) in INSPECTIONS.items()
        if scope[0] in (None, officer) and (scope[1] is None or brand in scope[1])}
    assert listed == SEES[name]


#: (user, outcome) -> the inspections whose outcome they may record.
OUTCOME_RIGHTS = {
    ("olga", "seized"): {"olga-nike"},
    ("olga", "released"): {"olga-nike"},
    ("olga", "confirmed_fake"): set(),
    ("olga", "confirmed_genuine"): set(),
    ("rita", "seized"): set(),
    ("rita", "released"): set(),
    ("rita", "confirmed_fake"): {"olga-nike", "oscar-nike"},
    ("rita", "confirmed_genuine"): {"olga-nike", "oscar-nike"},
    ("tom", "seized"): set(),
    ("tom", "confirmed_fake"): set(),
    ("ada", "seized"): set(INSPECTIONS),
    ("ada", "released"): set(INSPECTIONS),
    ("ada", "confirmed_fake"): set(INSPECTIONS),
    ("ada", "confirmed_genuine"): set(INSPECTIONS),
    ("ada", "destroyed"): set(),  # not an outcome at all
    ("olga", ""): set(),
}


@pytest.mark.parametrize(("name", "outcome"), OUTCOME_RIGHTS)
def test_can_record_outcome(name: str, outcome: str) -> None:
    allowed = {key for key, (officer, brand) in INSPECTIONS.items()
               if roles.can_record_outcome(USERS[name], outcome, officer, brand)}
    assert allowed == OUTCOME_RIGHTS[(name, outcome)]


def test_outcomes_table_names_only_known_roles() -> None:
    assert set(roles.OUTCOME_ROLES) == {"seized", "released", "confirmed_fake", "confirmed_genuine"}
    for allowed in roles.OUTCOME_ROLES.values():
        assert set(allowed) <= set(Role) and Role.ADMIN in allowed


#: user: (exports nike, exports acme, imports, sees nike's packages, acme's, any brand's)
PACKAGE_RIGHTS = {
    "olga": (0, 0, 0, 0, 0, 0),
    "rita": (1, 0, 0, 1, 0, 1),
    "tom": (0, 0, 0, 0, 0, 0),
    "ada": (1, 1, 1, 1, 1, 1),
}


@pytest.mark.parametrize("name", PACKAGE_RIGHTS)
def test_signed_packages_are_for_right_holders_of_the_brand_and_admins(name: str) -> None:
    user = USERS[name]
    got = (roles.can_export_package(user, "nike"), roles.can_export_package(user, "acme"),
           roles.can_import_package(user), roles.sees_packages(user, "nike"),
           roles.sees_packages(user, "acme"), roles.sees_packages(user))
    assert got == tuple(bool(e) for e in PACKAGE_RIGHTS[name])
