from django.urls import path

from providers import views

app_name = "providers"

urlpatterns = [
    path("", views.provider_list, name="list"),
    path("new/", views.provider_create, name="create"),
    path("country-defaults/", views.provider_country_defaults, name="country_defaults"),
    path("<int:pk>/", views.provider_detail, name="detail"),
    path("<int:pk>/edit/", views.provider_edit, name="edit"),
    path("<int:pk>/status/", views.provider_status, name="status"),
    path("<int:pk>/absences/", views.absence_add, name="absence_add"),
    path("<int:pk>/absences/<int:absence_pk>/delete/", views.absence_delete, name="absence_delete"),
    path("<int:pk>/documents/", views.document_upload, name="document_upload"),
    path("<int:pk>/documents/<int:document_pk>/", views.document_download, name="document_download"),
    path("<int:pk>/documents/<int:document_pk>/delete/", views.document_delete, name="document_delete"),
    path("policies/", views.policy_list, name="policy_list"),
    path("policies/new/", views.policy_create, name="policy_create"),
    path("policies/<int:policy_pk>/edit/", views.policy_edit, name="policy_edit"),
    path("policies/<int:policy_pk>/delete/", views.policy_delete, name="policy_delete"),
    path("policies/<int:policy_pk>/default/", views.policy_make_default, name="policy_make_default"),
]
