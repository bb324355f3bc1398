"""Each brand's model, as the web app offers it: comparing the installed models on a brand's
own references, and choosing one (the brand's right holder or an admin, as for its operating
point); and, at a server's start, embedding what the brands' models lack.

Part of :class:`~ipr_vision.app.service.Service` (its base class, as the admin operations are),
with the same rule: checked against the user's role first.
"""

from __future__ import annotations

from collections.abc import Callable

from ..core.roles import can_manage, sees_brand
from ..domain import User
from ..errors import PermissionDenied
from ..gallery import Gallery
from ..gallery.model_choice import ModelComparison
from .actors import web_actor


class ModelOperations:
    """Per-brand models, as :class:`~ipr_vision.app.service.Service` offers them."""

    gallery: Gallery

    def compare_models(self, user: User, brand: str, *,
                       compute: bool = False) -> ModelComparison:
        """Every installed model's left-out figures on the brand (anyone who sees it); with
        ``compute`` the brand is first embedded with the models that lack it, which costs an
        embedding pass each and so is its right holder's or an admin's call."""
        if not (can_manage(user, brand) if compute else sees_brand(user, brand)):
            raise PermissionDenied(f"{user.name} may not compare models on brand {brand!r}",
                                   key="error.may_not_compare", user=user.name, brand=brand)
        return self.gallery.compare_models(brand, compute=compute)

    def set_model(self, user: User, brand: str, model: str) -> int:
        """Choose the brand's model (see :meth:`Gallery.set_model`); how many references
        were embedded with it first."""
        if not can_manage(user, brand):
            raise PermissionDenied(f"{user.name} may not change brand {brand!r}",
                                   key="error.may_not_change", user=user.name, brand=brand)
        return self.gallery.set_model(brand, model, by=web_actor(user))

    def reembed_stale(self, announce: Callable[[str, int, str], None]) -> None:
        """Embed every brand's references its model has no vectors for, before serving
        (``announce(brand, count, model id)`` is called first for each)."""
        for brand, count in self.gallery.stale_embeddings().items():
            announce(brand, count, self.gallery.model_for(brand).model_id)
            self.gallery.reembed(brand)
