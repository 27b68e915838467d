from django.http import HttpRequest, HttpResponse

from outsourcing.access import workspace_view


@workspace_view()
def index(request: HttpRequest) -> HttpResponse:
    return HttpResponse("providers")
