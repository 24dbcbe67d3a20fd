from django.apps import AppConfig


class ForecastingConfig(AppConfig):
    name = "dealcraft.forecasting"
    default_auto_field = "django.db.models.BigAutoField"
