from django.contrib import admin
from django.urls import include, path

from outsourcing import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/", include("allauth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("invite/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path("workspaces/new/", views.workspace_new, name="workspace_new"),
    path("w/<slug:ws>/", views.workspace_home, name="workspace_home"),
    path("w/<slug:ws>/settings/", views.workspace_settings, name="workspace_settings"),
    path("w/<slug:ws>/members/", views.members, name="members"),
    path("w/<slug:ws>/members/<int:pk>/role/", views.member_role, name="member_role"),
    path("w/<slug:ws>/members/<int:pk>/remove/", views.member_remove, name="member_remove"),
    path("w/<slug:ws>/invitations/<int:pk>/revoke/", views.invitation_revoke, name="invitation_revoke"),
    path("w/<slug:ws>/providers/", include("providers.urls")),
    path("w/<slug:ws>/engagements/", include("engagements.urls")),
    path("w/<slug:ws>/notifications/", include("engagements.notifications.urls")),
    path("w/<slug:ws>/reliability/", include("engagements.reliability.urls")),
    path("w/<slug:ws>/mail/", include("engagements.mail_urls")),
    path("mail/in/", include("engagements.mail.webhook_urls")),
]
