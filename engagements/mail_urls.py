from django.urls import path

from engagements import mail_views as views

app_name = "mail"

urlpatterns: list = [
    path("unsorted/", views.unsorted_list, name="unsorted"),
    path("<int:pk>/sort/", views.inbound_sort, name="sort"),
]
