from allauth.account import views as account_views
from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path

from outsourcing import limits, signup_views, views

# The admin logs in through allauth's login: the same rate limits, and the second factor.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]

# allauth's 429 page is ours too.
handler429 = limits.too_many_requests

urlpatterns = [
    path("", views.home, name="home"),
    path("", include("ops.urls")),
    path("manifest.webmanifest", views.web_manifest, name="web_manifest"),
    # allauth's own views behind our limits on what is posted to them; the same paths, listed
    # first, so these answer (the names stay allauth's, for reverse()).
    path("accounts/login/", limits.limited(limits.LOGIN, method="POST")(account_views.login)),
    path("accounts/signup/", limits.limited(limits.SIGNUP, method="POST")(signup_views.signup)),
    path(
        "accounts/password/reset/",
        limits.limited(limits.PASSWORD_RESET, method="POST")(account_views.password_reset),
    ),
    path("accounts/", include("allauth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    # Before the admin's own: its JavaScript catalog with the person's date formats read out.
    path("admin/jsi18n/", views.AdminJavaScriptCatalog.as_view(packages=["django.contrib.admin"])),
    path("admin/", admin.site.urls),
    path("invite/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path("workspaces/new/", views.workspace_new, name="workspace_new"),
    path("w/<slug:ws>/", views.workspace_home, name="workspace_home"),
    path("w/<slug:ws>/two-factor/", views.two_factor_required, name="two_factor_required"),
    path("w/<slug:ws>/settings/", views.workspace_settings, name="workspace_settings"),
    path("w/<slug:ws>/members/", views.members, name="members"),
    path("w/<slug:ws>/members/<int:pk>/role/", views.member_role, name="member_role"),
    path("w/<slug:ws>/members/<int:pk>/remove/", views.member_remove, name="member_remove"),
    path("w/<slug:ws>/invitations/<int:pk>/revoke/", views.invitation_revoke, name="invitation_revoke"),
    path("w/<slug:ws>/providers/", include("providers.urls")),
    path("w/<slug:ws>/engagements/", include("engagements.urls")),
    path("w/<slug:ws>/notifications/", include("engagements.notifications.urls")),
    path("w/<slug:ws>/reliability/", include("engagements.reliability.urls")),
    path("w/<slug:ws>/reports/", include("engagements.reports.urls")),
    path("w/<slug:ws>/mail/", include("engagements.mail_urls")),
    path("w/<slug:ws>/import/", include("engagements.tables.urls")),
    path("w/<slug:ws>/chat-import/", include("engagements.chat.urls")),
    path("w/<slug:ws>/data/", include("engagements.archive.urls")),
    path("w/<slug:ws>/calendar/", include("engagements.ical.urls")),
    path("w/<slug:ws>/search/", include("engagements.search.urls")),
    path("w/<slug:ws>/start/", include("engagements.firstrun_urls")),
    path("sample-workspace/", include("engagements.firstrun_public_urls")),
    path("mail/in/", include("engagements.mail.webhook_urls")),
    # The calendar feed: its secret token is the only credential (calendar programs log in to nothing).
    path("calendar/", include("engagements.ical.public_urls")),
    # The provider's answer page: the signed token in a mail is the only credential.
    path("a/", include("engagements.answers.urls")),
    path("api/", include("api.urls")),
    path("w/<slug:ws>/api-tokens/", include("api.token_urls")),
]
