from typing import Any

from django.apps import AppConfig


def _signed_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    from .services import client_of, record_sign_out

    record_sign_out(user=user, client=client_of(request))


class AuditConfig(AppConfig):
    name = "dealcraft.audit"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_out

        # Every way of signing out (the logout page, a password change elsewhere) is audited.
        user_logged_out.connect(_signed_out, dispatch_uid="dealcraft.audit.sign_out")
