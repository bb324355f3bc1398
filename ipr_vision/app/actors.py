"""Who the audit trail names for what a logged-in user does in the web app."""

from __future__ import annotations

from ..domain import Actor, User


def web_actor(user: User) -> Actor:
    """The user behind a page's request (the API names its callers itself, with their
    address)."""
    return Actor(user.name, user.role, "web")
