"""The in-app notification list, the failed deliveries and the webhook test, under w/<ws>/notifications/."""

from django.urls import path

from engagements.notifications import views

app_name = "notifications"

urlpatterns: list = [
    path("", views.notification_list, name="list"),
    path("read/", views.notification_read_all, name="read_all"),
    path("<int:pk>/read/", views.notification_read, name="read"),
    path("<int:pk>/open/", views.notification_open, name="open"),
    path("failed/", views.failed_list, name="failed"),
    path("failed/<int:pk>/retry/", views.failed_retry, name="retry"),
    path("webhook/test/", views.webhook_test, name="webhook_test"),
]
