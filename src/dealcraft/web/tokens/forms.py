"""The form that issues an API token: it parses; `people.services.create_token` decides."""

from __future__ import annotations

from django import forms


class TokenForm(forms.Form):
    name = forms.CharField(label="Name", max_length=100, required=False,
                           help_text="What the token is for, e.g. “BI export”.")
    read_only = forms.BooleanField(label="Read-only (the token may only read)", required=False)
    expires_days = forms.IntegerField(label="Expires after (days)", required=False,
                                      min_value=1, max_value=3650,
                                      help_text="1 to 3650; leave empty for a token that "
                                                "does not expire.")
    # Only admins see this field; anyone else naming another user is refused by the service.
    username = forms.CharField(label="For user (username)", max_length=150, required=False,
                               help_text="Leave empty to issue the token for yourself.")
