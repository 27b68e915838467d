from django.urls import path

from engagements import saved_view_views, views
from engagements.proposals import views as proposal_views

app_name = "engagements"

urlpatterns: list = [
    path("", views.engagement_list, name="list"),
    path("new/", views.engagement_create, name="create"),
    path("attention/", views.attention, name="attention"),
    path("views/", saved_view_views.saved_view_list, name="saved_views"),
    path("views/save/", saved_view_views.saved_view_save, name="saved_view_save"),
    path("views/<int:pk>/edit/", saved_view_views.saved_view_edit, name="saved_view_edit"),
    path("views/<int:pk>/share/", saved_view_views.saved_view_share, name="saved_view_share"),
    path("views/<int:pk>/delete/", saved_view_views.saved_view_delete, name="saved_view_delete"),
    path("flags/<int:pk>/snooze/", views.flag_snooze, name="flag_snooze"),
    path("flags/<int:pk>/unsnooze/", views.flag_unsnooze, name="flag_unsnooze"),
    path("flags/<int:pk>/dismiss/", views.flag_dismiss, name="flag_dismiss"),
    path("flags/bulk/", views.flag_bulk, name="flag_bulk"),
    path("bulk/", views.engagement_bulk, name="engagement_bulk"),
    path("<int:pk>/", views.engagement_detail, name="detail"),
    path("<int:pk>/edit/", views.engagement_edit, name="edit"),
    path("<int:pk>/status/", views.engagement_status, name="status"),
    path("<int:pk>/review/", views.review_edit, name="review"),
    path("<int:pk>/messages/", views.message_create, name="message_create"),
    path("<int:pk>/log/", views.message_log_export, name="message_log_export"),
    path("messages/<int:pk>/edit/", views.message_edit, name="message_edit"),
    path("messages/<int:pk>/history/", views.message_history, name="message_history"),
    path("messages/<int:pk>/delete/", views.message_delete, name="message_delete"),
    path("messages/<int:pk>/restore/", views.message_restore, name="message_restore"),
    path("messages/<int:pk>/absence/", views.message_absence, name="message_absence"),
    path("messages/<int:pk>/not-an-answer/", views.message_not_an_answer, name="message_not_an_answer"),
    path("proposals/<int:pk>/accept/", proposal_views.proposal_accept, name="proposal_accept"),
    path("proposals/<int:pk>/decline/", proposal_views.proposal_decline, name="proposal_decline"),
    path("attachments/<int:pk>/", views.attachment_download, name="attachment"),
    path("providers/<int:provider_pk>/timeline/", views.provider_timeline, name="provider_timeline"),
]
