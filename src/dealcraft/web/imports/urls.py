"""The import page's addresses."""

from django.urls import path

from . import views

urlpatterns = [
    path("imports/", views.imports, name="imports"),
    path("imports/<int:run_id>/", views.run_page, name="import-run"),
    path("imports/<int:run_id>/mapping/", views.mapping, name="import-mapping"),
    path("imports/<int:run_id>/run/", views.start, name="import-start"),
    path("imports/<int:run_id>/progress/", views.progress, name="import-progress"),
    path("imports/<int:run_id>/errors.csv", views.error_report, name="import-errors"),
]
