"""URL map: the web app and the REST API."""

from django.urls import include, path

urlpatterns = [
    path("", include("dealcraft.web.urls")),
]
