"""The only writers of the web app's own records: a user's saved board views."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from dealcraft.audit.services import record
from dealcraft.cleaning import clean_text
from dealcraft.errors import InvalidInput, NotAllowed, NotFound

from .models import SavedView

MAX_VIEWS_PER_USER = 50


def save_view(*, acting_user: Any, name: str, query: str) -> SavedView:
    """Save the board's filters under a name; saving an existing name replaces its filters."""
    if not getattr(acting_user, "is_authenticated", False):
        raise NotAllowed("Sign in to save a view.")
    name = clean_text(name, "name", max_length=100)
    query = clean_text(query, "query", max_length=1000, required=False).lstrip("?")
    with transaction.atomic():
        view = SavedView.objects.select_for_update().filter(user=acting_user, name=name).first()
        if view is None:
            if SavedView.objects.filter(user=acting_user).count() >= MAX_VIEWS_PER_USER:
                raise InvalidInput(f"you already have {MAX_VIEWS_PER_USER} saved views; "
                                   "delete one first", "name")
            view = SavedView.objects.create(user=acting_user, name=name, query=query)
            action = "saved_view.create"
        else:
            view.query = query
            view.save(update_fields=["query"])
            action = "saved_view.update"
        record(actor=acting_user, action=action, obj=view,
               changes={"name": name, "query": query})
    return view


def delete_view(*, acting_user: Any, view: SavedView | int) -> None:
    """Delete one of the acting user's own saved views."""
    with transaction.atomic():
        pk = view.pk if isinstance(view, SavedView) else view
        current = SavedView.objects.select_for_update().filter(pk=pk).first()
        if current is None:
            raise NotFound(f"saved view {pk} does not exist")
        if current.user_id != getattr(acting_user, "pk", None):
            raise NotAllowed("You may delete only your own saved views.")
        record(actor=acting_user, action="saved_view.delete", obj=current,
               changes={"name": current.name, "query": current.query})
        current.delete()
