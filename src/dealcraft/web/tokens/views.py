"""API tokens from the web: list one's tokens, issue one (its secret shown once), revoke one.

Admins also see and revoke every user's tokens (`?all=1`) and issue tokens for others. The
rules — who may issue or revoke which token, a viewer's tokens being read-only — are those
of `people.services.create_token` and `revoke_token`, the same the command line uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from dealcraft.errors import InvalidInput, NotAllowed, NotFound
from dealcraft.people.models import ApiToken, Role, User
from dealcraft.people.services import create_token, revoke_token

from .forms import TokenForm

PAGE_SIZE = 50


@dataclass(frozen=True)
class TokenRow:
    token: ApiToken
    state: str  # active, expired or revoked


def _state(token: ApiToken, now: datetime) -> str:
    if token.revoked_at is not None:
        return "revoked"
    return "active" if token.is_usable(now) else "expired"


def _signed_in(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # login_required
    return user


def _tokens_of(user: User) -> QuerySet[ApiToken]:
    """The tokens `user` may see and revoke: their own, and every token for an admin."""
    tokens = ApiToken.objects.select_related("user")
    return tokens if user.role == Role.ADMIN else tokens.filter(user=user)


@login_required
@never_cache
@require_GET
def token_list(request: HttpRequest) -> HttpResponse:
    user = _signed_in(request)
    show_all = request.GET.get("all") == "1"
    if show_all and user.role != Role.ADMIN:
        raise PermissionDenied("Only admins see every user's tokens.")
    tokens = _tokens_of(user)
    if not show_all:
        tokens = tokens.filter(user=user)
    page = Paginator(tokens.order_by("-created_at", "-id"), PAGE_SIZE).get_page(
        request.GET.get("page"))
    now = timezone.now()
    return render(request, "web/tokens/list.html", {
        "page": page,
        "rows": [TokenRow(token, _state(token, now)) for token in page],
        "show_all": show_all,
        "is_admin": user.role == Role.ADMIN,
    })


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def token_create(request: HttpRequest) -> HttpResponse:
    """The form, and on POST the new token with its secret: rendered, never redirected to,
    so that the secret lives in this one response and nowhere else."""
    user = _signed_in(request)
    form = TokenForm(request.POST if request.method == "POST" else None)
    context = {"form": form, "is_admin": user.role == Role.ADMIN,
               "is_viewer": user.role == Role.VIEWER}
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        username = data["username"].strip()
        target = user
        if username and username != user.username:
            if user.role != Role.ADMIN:
                raise PermissionDenied("Only admins issue tokens for other users.")
            found = User.objects.filter(username=username).first()
            if found is None:
                form.add_error("username", f"There is no user '{username}'.")
            target = found or user
        if not form.errors:
            try:
                token, key = create_token(acting_user=user, user=target,
                                          read_only=data["read_only"],
                                          expires_days=data["expires_days"], name=data["name"])
            except NotAllowed as exc:
                raise PermissionDenied(exc.message) from None
            except InvalidInput as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                return render(request, "web/tokens/created.html",
                              {"token": token, "key": key, "for_someone_else": target != user},
                              status=201)
    return render(request, "web/tokens/create.html", context,
                  status=422 if form.is_bound and form.errors else 200)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    """GET asks for confirmation; POST revokes. Another user's token is not found, unless
    the user is an admin."""
    user = _signed_in(request)
    token = _tokens_of(user).filter(pk=token_id).first()
    if token is None:
        raise Http404("No such token.")
    back = reverse("web:tokens") + ("?all=1" if token.user_id != user.pk else "")
    if request.method == "POST":
        try:
            token = revoke_token(acting_user=user, token_id=token.pk)
        except NotAllowed as exc:
            raise PermissionDenied(exc.message) from None
        except NotFound:
            raise Http404("No such token.") from None
        messages.success(request, f"The token {token.key_prefix}… is revoked; it no longer "
                                  "works.")
        return redirect(back)
    return render(request, "web/tokens/revoke.html", {
        "token": token, "state": _state(token, timezone.now()), "back": back})
