"""Export downloads."""

from django.urls import path

from . import views

urlpatterns = [
    path("exports/<str:kind>/", views.download, name="export"),
]
