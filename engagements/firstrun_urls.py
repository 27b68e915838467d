from django.urls import path

from engagements import firstrun_views as views

app_name = "firstrun"

urlpatterns: list = [
    path("checklist/dismiss/", views.checklist_dismiss, name="checklist_dismiss"),
    path("sample/delete/", views.sample_delete, name="sample_delete"),
]
