"""When a paced person of the load scenario clicks next (cluster/locustfile.py's ``LOAD_PACE``).

Apart from the locustfile because importing locust patches the standard library for gevent:
the tests import this alone.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable


class PoissonPacing:
    """A person's clicks at ``rate`` a second on average, with random (exponential) gaps between them.

    Independent people's clicks arrive so; locust's ``constant_throughput`` gives each person a
    fixed period instead, and the people drift into step: a slow answer releases everyone
    queued behind it at once, and from then on they click together. At a million messages the web
    log showed 16 people arriving in bursts every 300 ms, gunicorn's 3 workers all busy 46 % of
    the time and all idle 38 %, and the requests queuing in each burst.

    Each click is planned from the previous plan, not from when its answer came, so the rate holds
    whatever the pages' speed: a person behind the plan clicks again at once until back on it
    (with one request at a time each, a host that cannot keep up shows as a throughput below the
    rate, never as a pile of requests).
    """

    def __init__(
        self, rate: float, rng: random.Random | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate <= 0:
            raise ValueError(f"a pace is clicks per second, above 0: {rate}")
        self.rate = rate
        self.rng = rng or random.Random()
        self.clock = clock
        self.planned: float | None = None

    def __call__(self) -> float:
        """Seconds to wait before the next click (0 when it is already due)."""
        now = self.clock()
        self.planned = (now if self.planned is None else self.planned) + self.rng.expovariate(self.rate)
        return max(0.0, self.planned - now)
