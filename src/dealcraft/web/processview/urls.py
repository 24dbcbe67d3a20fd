"""The process view: `/process/`, its versions and the difference between two."""

from django.urls import path

from . import views

urlpatterns = [
    path("process/", views.process_page, name="process"),
    path("process/versions/", views.versions, name="process-versions"),
    path("process/diff/", views.diff, name="process-diff"),
]
