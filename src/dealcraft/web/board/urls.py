"""The pipeline board's addresses."""

from django.urls import path

from . import views

urlpatterns = [
    path("pipeline/", views.board, name="board"),
    path("pipeline/columns/<str:stage>/", views.column, name="board-column"),
    path("pipeline/deals/<int:deal_id>/move/", views.move, name="board-move"),
    path("pipeline/deals/<int:deal_id>/evidence/", views.add_evidence, name="board-evidence"),
    path("pipeline/deals/<int:deal_id>/next-step/", views.set_step, name="board-next-step"),
    path("pipeline/views/", views.save_view, name="board-view-save"),
    path("pipeline/views/<int:view_id>/delete/", views.delete_view, name="board-view-delete"),
]
