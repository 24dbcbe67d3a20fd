"""Parsing the deal page's forms into the values the services take.

The forms check shapes only (a date is a date, a level is 0–3); what is allowed is the
services' business, so their refusals reach the page with the same words the API uses.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from django import forms
from django.utils import timezone

from dealcraft.domain.process import ACTIVITY_KINDS, Process

from .page import edited

NO_YES = (("", "—"), ("yes", "Yes"), ("no", "No"))


class EvidenceForm(forms.Form):
    criterion = forms.CharField(max_length=64)
    text = forms.CharField(required=False, strip=False)
    url = forms.CharField(required=False)
    file = forms.FileField(required=False, allow_empty_file=True)

    @property
    def kind(self) -> str:
        """A file wins over a link, a link over a plain note."""
        if self.cleaned_data.get("file") is not None:
            return "file"
        return "link" if self.cleaned_data.get("url", "").strip() else "text"


class QualificationForm(forms.Form):
    framework = forms.CharField(max_length=64)
    criterion = forms.CharField(max_length=64)
    level = forms.TypedChoiceField(choices=[(str(n), str(n)) for n in range(4)], coerce=int)
    evidence = forms.CharField(required=False)


class StakeholderForm(forms.Form):
    role = forms.CharField(max_length=64)
    influence = forms.TypedChoiceField(choices=[(str(n), str(n)) for n in (1, 2, 3)], coerce=int)
    support = forms.TypedChoiceField(choices=[(str(n), str(n)) for n in (-1, 0, 1)], coerce=int)
    contact = forms.IntegerField(required=False, min_value=1)
    first_name = forms.CharField(required=False, max_length=100)
    last_name = forms.CharField(required=False, max_length=100)
    email = forms.EmailField(required=False)
    title = forms.CharField(required=False, max_length=150)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        new = any(data.get(k) for k in ("first_name", "last_name", "email"))
        if data.get("contact") and new:
            raise forms.ValidationError("Pick an existing contact or enter a new one, not both.")
        if not data.get("contact") and not new and not self.errors:
            raise forms.ValidationError("Pick a contact or enter a new one's name or email.")
        return data


class NextStepForm(forms.Form):
    text = forms.CharField(required=False, strip=False)
    due = forms.DateField(required=False)
    owner = forms.IntegerField(required=False, min_value=1)
    buyer_confirmed = forms.BooleanField(required=False)


class ActivityForm(forms.Form):
    kind = forms.ChoiceField(choices=[(k, k) for k in ACTIVITY_KINDS])
    subject = forms.CharField(required=False, strip=False)
    body = forms.CharField(required=False, strip=False)
    due = forms.CharField(required=False)

    def clean_due(self) -> datetime | None:
        """`2031-05-02T14:30` or a bare date (taken as 09:00), in the site's time zone."""
        raw = (self.cleaned_data.get("due") or "").strip()
        if not raw:
            return None
        try:
            moment = datetime.fromisoformat(raw)
        except ValueError:
            raise forms.ValidationError("Enter a date, or a date and time.") from None
        if "T" not in raw and " " not in raw:
            moment = datetime.combine(moment.date(), time(9, 0))
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment)
        return moment

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("kind") == "task" and not data.get("due") and "due" not in self.errors:
            self.add_error("due", "A task needs a due date.")
        return data


class MoveForm(forms.Form):
    to = forms.CharField(max_length=64)
    reason = forms.CharField(required=False)
    override = forms.BooleanField(required=False)
    override_reason = forms.CharField(required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("override") and not (data.get("override_reason") or "").strip():
            self.add_error("override_reason", "An override needs a reason.")
        return data


class CloseLostForm(forms.Form):
    reason = forms.CharField(required=False)
    category = forms.CharField(required=False, max_length=64)


class ReopenForm(forms.Form):
    reason = forms.CharField(required=False)
    to = forms.CharField(required=False, max_length=64)


class AccountForm(forms.Form):
    """The account picker: an account by id (picked from the list) or by its typed name."""

    version = forms.IntegerField(min_value=1)
    account = forms.IntegerField(required=False, min_value=1)
    account_name = forms.CharField(required=False, max_length=255)
    action = forms.ChoiceField(required=False, choices=[
        ("set", "set"), ("create", "create"), ("clear", "clear")])


class DealFieldsForm(forms.Form):
    """The deal's own fields and the process's custom fields (as `field_<key>`)."""

    version = forms.IntegerField(min_value=1)
    name = forms.CharField(required=False, strip=False)
    amount = forms.CharField(required=False)
    currency = forms.CharField(required=False)
    expected_close = forms.DateField(required=False)

    def __init__(self, process: Process, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.process = process
        for spec in process.fields:
            name = f"field_{spec.key}"
            if spec.type == "date":
                self.fields[name] = forms.DateField(required=False)
            elif spec.type == "bool":
                self.fields[name] = forms.ChoiceField(required=False, choices=NO_YES)
            elif spec.type == "choice":
                self.fields[name] = forms.ChoiceField(
                    required=False, choices=[("", "—"), *((c, c) for c in spec.choices)])
            else:
                self.fields[name] = forms.CharField(required=False)

    def changes(self) -> dict[str, Any]:
        """What `update_deal` takes: the fields the user changed; a blanked custom field is
        cleared."""
        data, edited = self.cleaned_data, self.edited
        out: dict[str, Any] = {}
        for name in ("name", "amount", "currency"):
            if edited(name):
                out[name] = data[name]
        if edited("expected_close"):
            out["expected_close"] = data["expected_close"] or ""
        custom: dict[str, Any] = {}
        for spec in self.process.fields:
            name = f"field_{spec.key}"
            if not edited(name):
                continue
            value = data.get(name)
            if spec.type == "bool":
                value = {"yes": True, "no": False}.get(value or "")
            custom[spec.key] = None if value in ("", None) else value
        if custom:
            out["fields"] = custom
        return out

    def edited(self, name: str) -> bool:
        return edited(self.data, name)


def first_errors(form: forms.Form) -> dict[str, str]:
    """A form's errors, one message per field; `form` for the form as a whole."""
    return {("form" if name == "__all__" else name): str(messages[0])
            for name, messages in form.errors.items()}
