"""The forecast pages: `/forecast/` (calls, roll-up, adjustments) and its reports."""

from django.urls import path

from . import views

urlpatterns = [
    path("forecast/", views.forecast, name="forecast"),
    path("forecast/submit/", views.submit, name="forecast-submit"),
    path("forecast/adjust/", views.adjust, name="forecast-adjust"),
    path("forecast/deals/<int:deal_id>/category/", views.category,
         name="forecast-category"),
    path("forecast/accuracy/", views.accuracy, name="forecast-accuracy"),
    path("forecast/calibration/", views.calibration, name="forecast-calibration"),
    path("forecast/criteria/", views.criteria, name="forecast-criteria"),
]
