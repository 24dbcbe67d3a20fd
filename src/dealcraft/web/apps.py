from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "dealcraft.web"
    default_auto_field = "django.db.models.BigAutoField"
