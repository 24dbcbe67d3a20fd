from django.apps import AppConfig


class TransferConfig(AppConfig):
    name = "dealcraft.transfer"
    verbose_name = "Imports from the web, exports, backup and restore"
