"""People using the tracker: browsing the main pages, logging messages, uploading mail.

Run by cluster/load.py and cluster/netns.py (headless, bounded by ``--run-time`` and by
``LOAD_MAX_REQUESTS``). Reads the plan cluster/prepare.py wrote (``LOAD_PLAN``: the workspace,
some engagement ids, search words and one session cookie per person, made up-front so nobody
hits the log-in rate limits). What a person saw succeed is appended to ``LOAD_RECORD``
(``logged <subject>`` / ``uploaded <Message-ID>``): the checks afterwards look for every line in
the database.
"""

from __future__ import annotations

import json
import os
import random
import time
import uuid
from pathlib import Path
from typing import Any

from locust import FastHttpUser, events, tag, task
from locust.exception import StopUser
from requests.cookies import create_cookie

from cluster.pacing import PoissonPacing

PLAN: dict[str, Any] = (
    json.loads(Path(os.environ["LOAD_PLAN"]).read_text()) if "LOAD_PLAN" in os.environ else {}
)
RECORD = Path(os.environ.get("LOAD_RECORD", "var/load-record.txt"))
MAX_REQUESTS = int(os.environ.get("LOAD_MAX_REQUESTS", "0"))
# 0: each person clicks again as soon as a page came (a closed loop measuring capacity).
WAIT = float(os.environ.get("LOAD_WAIT", "0"))
# Clicks per second and person (> 0: paced, whatever the pages' speed, as long as they keep up):
# people together offer a set rate, and the latencies are those at that rate, not at saturation.
# Their clicks come at random moments around it (cluster/pacing.py), as independent people's do.
PACE = float(os.environ.get("LOAD_PACE", "0"))

_state: dict[str, Any] = {"requests": 0, "environment": None}


@events.init.add_listener
def _keep_environment(environment: Any, **_kwargs: Any) -> None:
    _state["environment"] = environment


@events.request.add_listener
def _count(name: str = "", exception: Any = None, **_kwargs: Any) -> None:
    """Note each failure with its time; stop once LOAD_MAX_REQUESTS requests were made (0: by time only)."""
    if exception is not None:
        _record("error", f"{time.time():.2f} {name.replace(' ', '_')} {type(exception).__name__}")
    _state["requests"] += 1
    environment = _state["environment"]
    if MAX_REQUESTS and _state["requests"] == MAX_REQUESTS and environment and environment.runner:
        environment.runner.quit()


def _record(kind: str, value: str) -> None:
    with RECORD.open("a") as out:
        out.write(f"{kind} {value}\n")


EML = """\
From: Load Test Provider <provider@load.test>
To: team@load.test
Subject: {subject}
Message-ID: {message_id}
Date: {date}
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

A reply uploaded by the load test ({token}).
"""


class Person(FastHttpUser):
    """One member of the demo team, clicking through the pages a day's work needs.

    FastHttpUser (geventhttpclient), not HttpUser (requests): locust runs on the same two cores as
    the servers it measures, and requests' client took twice the CPU (0.08 cores against 0.04 at
    42 page requests/s).
    """

    def wait_time(self) -> float:
        if PACE > 0:
            return self.pacing()
        return random.uniform(WAIT * 0.5, WAIT * 1.5)

    def on_start(self) -> None:
        if not PLAN:
            raise StopUser()
        if PACE > 0:
            self.pacing = PoissonPacing(PACE)
        self.ws = PLAN["ws"]
        # Several web hosts (LOAD_HOSTS, comma-separated): each person keeps to one, in turn.
        hosts = [h for h in os.environ.get("LOAD_HOSTS", "").split(",") if h]
        if hosts:
            _state["people"] = _state.get("people", 0) + 1
            self.client.base_url = hosts[_state["people"] % len(hosts)]
        self.client.cookiejar.set_cookie(create_cookie("sessionid", random.choice(PLAN["sessions"])))
        # The list page sets the CSRF cookie the forms post back.
        self.client.get(f"/w/{self.ws}/engagements/", name="engagement list")

    def _engagement(self) -> int:
        return int(random.choice(PLAN["engagements"]))

    def _csrf(self) -> str:
        token = self._cookie("csrftoken")
        if not token:
            self.client.get(f"/w/{self.ws}/engagements/", name="engagement list")
            token = self._cookie("csrftoken")
        return token

    def _cookie(self, name: str) -> str:
        return next((cookie.value or "" for cookie in self.client.cookiejar if cookie.name == name), "")

    @tag("floor")
    @task(2)
    def floor(self) -> None:
        # The framework's floor in the same run: no database, no template.
        self.client.get("/healthz", name="floor /healthz")

    @task(5)
    def engagement_list(self) -> None:
        self.client.get(f"/w/{self.ws}/engagements/", name="engagement list")

    @task(5)
    def engagement_detail(self) -> None:
        self.client.get(f"/w/{self.ws}/engagements/{self._engagement()}/", name="engagement page")

    @task(3)
    def attention(self) -> None:
        self.client.get(f"/w/{self.ws}/engagements/attention/", name="needs attention")

    @task(2)
    def dashboard(self) -> None:
        self.client.get(f"/w/{self.ws}/reliability/", name="reliability dashboard")

    @task(2)
    def leaderboard(self) -> None:
        self.client.get(f"/w/{self.ws}/reliability/providers/", name="leaderboard")

    @task(2)
    def search(self) -> None:
        word = random.choice(PLAN["words"])
        self.client.get(f"/w/{self.ws}/search/", params={"q": word}, name="search")

    @task(2)
    def log_message(self) -> None:
        pk = self._engagement()
        subject = f"load {uuid.uuid4().hex}"
        direction, kind = random.choice([("out", "request"), ("in", "reply"), ("note", "other")])
        with self.client.post(
            f"/w/{self.ws}/engagements/{pk}/messages/",
            data={
                "csrfmiddlewaretoken": self._csrf(),
                "direction": direction,
                "kind": kind,
                "channel": "email",
                "occurred_at": PLAN["now"],
                "subject": subject,
                "body": "Logged by the load test.",
            },
            allow_redirects=False,
            name="log a message",
            catch_response=True,
        ) as response:
            # A saved message redirects to its place in the log; the form again (200) is a failure.
            if response.status_code == 302:
                _record("logged", subject)
                response.success()
            else:
                response.failure(f"not logged ({response.status_code})")

    @task(1)
    def upload_mail(self) -> None:
        token = uuid.uuid4().hex
        message_id = f"<load-{token}@load.test>"
        eml = EML.format(
            subject=f"Re: load {token}", message_id=message_id, date=PLAN["date"], token=token
        ).replace("\n", "\r\n")
        with self.client.post(
            f"/w/{self.ws}/mail/upload/",
            data={"csrfmiddlewaretoken": self._csrf()},
            files={"mail_files": (f"{token}.eml", eml.encode(), "message/rfc822")},
            allow_redirects=False,
            name="upload mail",
            catch_response=True,
        ) as response:
            if response.status_code == 302:
                _record("uploaded", message_id.strip("<>"))  # stored without the brackets
                response.success()
            else:
                response.failure(f"not uploaded ({response.status_code})")
