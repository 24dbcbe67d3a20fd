"""Admin settings for outgoing webhooks: `/settings/webhooks/`."""

from django.urls import path

from . import views

urlpatterns = [
    path("settings/webhooks/", views.webhooks, name="webhooks"),
    path("settings/webhooks/<int:endpoint_id>/delete/", views.delete, name="webhook-delete"),
]
