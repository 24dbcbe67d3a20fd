from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "dealcraft.webhooks"
    default_auto_field = "django.db.models.BigAutoField"
