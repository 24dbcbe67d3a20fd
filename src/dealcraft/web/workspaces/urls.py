from django.urls import path

from . import views

urlpatterns = [
    path("deals/<int:deal_id>/discovery/", views.discovery, name="deal-discovery"),
    path("deals/<int:deal_id>/discovery/research/", views.save_research,
         name="deal-discovery-research"),
    path("deals/<int:deal_id>/discovery/agenda/", views.save_agenda,
         name="deal-discovery-agenda"),
    path("deals/<int:deal_id>/discovery/agenda/agreement/", views.record_agreement,
         name="deal-discovery-agreement"),
    path("deals/<int:deal_id>/discovery/questions/<slug:question>/answer/",
         views.answer_question, name="deal-discovery-answer"),
    path("deals/<int:deal_id>/discovery/questions/<slug:question>/notes/", views.add_note,
         name="deal-discovery-note"),
    path("deals/<int:deal_id>/discovery/impact/", views.save_impact,
         name="deal-discovery-impact"),
    path("deals/<int:deal_id>/discovery/summary/", views.save_summary,
         name="deal-discovery-summary"),
    path("deals/<int:deal_id>/solution/", views.solution, name="deal-solution"),
    path("deals/<int:deal_id>/solution/capabilities/", views.recommend,
         name="deal-solution-recommend"),
    path("deals/<int:deal_id>/solution/capabilities/<slug:capability>/withdraw/",
         views.withdraw, name="deal-solution-withdraw"),
    path("deals/<int:deal_id>/solution/demo/", views.save_demo, name="deal-solution-demo"),
    path("deals/<int:deal_id>/solution/value/", views.confirm_value,
         name="deal-solution-value"),
]
