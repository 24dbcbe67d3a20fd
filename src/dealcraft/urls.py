"""URL map: the web app and the REST API."""

from django.urls import include, path

from dealcraft.api.app import api

urlpatterns = [
    path("api/v1/", api.urls),
    path("", include("dealcraft.web.urls")),
]
