from django.apps import AppConfig


class CrmConfig(AppConfig):
    name = "dealcraft.crm"
    default_auto_field = "django.db.models.BigAutoField"
