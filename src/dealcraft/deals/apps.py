from django.apps import AppConfig


class DealsConfig(AppConfig):
    name = "dealcraft.deals"
    default_auto_field = "django.db.models.BigAutoField"
