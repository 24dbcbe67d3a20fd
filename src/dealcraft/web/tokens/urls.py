"""API tokens from the web: `/settings/tokens/`."""

from django.urls import path

from . import views

urlpatterns = [
    path("settings/tokens/", views.token_list, name="tokens"),
    path("settings/tokens/new/", views.token_create, name="token-create"),
    path("settings/tokens/<int:token_id>/revoke/", views.token_revoke, name="token-revoke"),
]
