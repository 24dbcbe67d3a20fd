"""WSGI entry point (``gunicorn dealcraft.wsgi``)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dealcraft.settings")

application = get_wsgi_application()
