from django.urls import path

from api import token_views

urlpatterns = [
    path("", token_views.token_list, name="api_tokens"),
    path("<str:prefix>/revoke/", token_views.token_revoke, name="api_tokens_revoke"),
]
