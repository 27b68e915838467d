"""Ask each web host for a page that needs the database, twice a second, and write down the answers.

``python -m cluster.probe OUT SECONDS SESSION URL...``: one line per answer,
``<unix time> <url> <status or error>``; cluster/netns.py reads them to tell when web answered.
"""

from __future__ import annotations

import sys
import time
import urllib.error
import urllib.request


def main() -> int:
    out, seconds, session, *urls = sys.argv[1:]
    end = time.time() + float(seconds)
    with open(out, "a") as log:
        while time.time() < end:
            for url in urls:
                request = urllib.request.Request(url, headers={"Cookie": f"sessionid={session}"})
                try:
                    with urllib.request.urlopen(request, timeout=10) as response:  # nosec B310 (our web hosts)
                        status = str(response.status)
                except urllib.error.HTTPError as error:
                    status = str(error.code)
                except OSError as error:
                    status = type(error).__name__
                log.write(f"{time.time():.2f} {url} {status}\n")
                log.flush()
            time.sleep(0.5)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
