"""The report pages: `/reports/` and `/reports/<name>/`."""

from django.urls import path

from . import views

urlpatterns = [
    path("reports/", views.index, name="reports"),
    path("reports/<slug:name>/", views.report, name="report"),
]
