"""Sign-in with throttling: too many failures for a name or from an address lock it a while.

Every attempt, and its outcome, is recorded by `audit.services`; the lock message is the same
whether or not the name belongs to anyone.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.http import HttpResponse

from dealcraft.audit.models import SignInAttempt
from dealcraft.audit.services import client_of, record_sign_in, sign_in_locked_until

LOCKED_MESSAGE = ("Too many failed sign-in attempts. Sign-in is paused for this name for up "
                  "to 15 minutes; try again later.")


class ThrottledAuthenticationForm(AuthenticationForm):
    """Refuses to check the password at all while the name or address is locked."""

    def __init__(self, *args: Any, locked: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.locked = locked

    def clean(self) -> dict[str, Any]:
        if self.locked:
            raise forms.ValidationError(LOCKED_MESSAGE, code="locked")
        return super().clean()


class SignInView(LoginView):
    template_name = "web/login.html"
    redirect_authenticated_user = True
    authentication_form = ThrottledAuthenticationForm

    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs = super().get_form_kwargs()
        if self.request.method == "POST":
            kwargs["locked"] = sign_in_locked_until(
                username=self.request.POST.get("username", ""),
                ip=client_of(self.request).ip) is not None
        return kwargs

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        record_sign_in(username=form.cleaned_data.get("username", ""), user=form.get_user(),
                       outcome=SignInAttempt.Outcome.SUCCEEDED, client=client_of(self.request))
        return response

    def form_invalid(self, form: Any) -> HttpResponse:
        locked = getattr(form, "locked", False)
        outcome = SignInAttempt.Outcome.REFUSED if locked else SignInAttempt.Outcome.FAILED
        record_sign_in(username=self.request.POST.get("username", ""), user=None,
                       outcome=outcome, client=client_of(self.request))
        response = super().form_invalid(form)
        if locked:
            response.status_code = 429
            response["Retry-After"] = "900"
        return response

