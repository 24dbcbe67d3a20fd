"""The deal page, `/deals/<id>/`, and the forms it posts to under the same address."""

from django.urls import path

from . import views

urlpatterns = [
    path("deals/<int:deal_id>/", views.deal_detail, name="deal-detail"),
    path("deals/<int:deal_id>/evidence/", views.evidence, name="deal-evidence"),
    path("deals/<int:deal_id>/evidence/<int:evidence_id>/download/", views.evidence_download,
         name="evidence-download"),
    path("deals/<int:deal_id>/qualification/", views.answer_qualification,
         name="deal-qualification"),
    path("deals/<int:deal_id>/stakeholders/", views.add_stakeholder, name="deal-stakeholders"),
    path("deals/<int:deal_id>/next-step/", views.set_next_step, name="deal-next-step"),
    path("deals/<int:deal_id>/activities/", views.activities, name="deal-activities"),
    path("deals/<int:deal_id>/activities/<int:activity_id>/done/", views.complete_activity,
         name="deal-activity-done"),
    path("deals/<int:deal_id>/fields/", views.edit_fields, name="deal-fields"),
    path("deals/<int:deal_id>/account/", views.set_account, name="deal-account"),
    path("deals/<int:deal_id>/accounts/", views.account_search, name="deal-account-search"),
    path("deals/<int:deal_id>/advance/", views.advance, name="deal-advance"),
    path("deals/<int:deal_id>/close-lost/", views.close_lost, name="deal-close-lost"),
    path("deals/<int:deal_id>/reopen/", views.reopen, name="deal-reopen"),
    path("deals/<int:deal_id>/history/", views.history_list, name="deal-history"),
    path("deals/<int:deal_id>/audit/", views.audit_list, name="deal-audit"),
]
