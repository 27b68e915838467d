from django.urls import path

from engagements.reports import views

app_name = "reports"

urlpatterns: list = [
    path("", views.report_list, name="list"),
    path("new/", views.report_create, name="create"),
    path("<int:pk>/edit/", views.report_edit, name="edit"),
    path("<int:pk>/delete/", views.report_delete, name="delete"),
    path("<int:pk>/pdf/", views.report_download, name="download"),
    path("<int:pk>/send/", views.report_send_now, name="send"),
    path("<int:pk>/sent/", views.report_sent, name="sent"),
]
