from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "dealcraft.audit"
    default_auto_field = "django.db.models.BigAutoField"
