from django.apps import AppConfig


class DiscoveryConfig(AppConfig):
    name = "dealcraft.discovery"
    default_auto_field = "django.db.models.BigAutoField"
