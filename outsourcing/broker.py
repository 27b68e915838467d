"""The on-disk broker of ``make run``: kombu's filesystem transport, with each message written whole.

kombu's own ``_put`` creates the message file under its final name and only then writes it. A worker
listing the folder in between takes the empty file, fails to decode it and stops (kombu issue 1551;
our CI saw it once). Here the message is written under a name no queue reads and then renamed into
place: a rename within one folder is atomic, so a reader finds either nothing or the whole message.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.json import dumps

#: What settings give Celery as ``broker_transport`` when the broker URL is ``filesystem://``.
TRANSPORT = "outsourcing.broker:Transport"


class Channel(filesystem.Channel):
    # kombu names the argument "payload" here and "message" in its base class (its stubs ignore it too).
    def _put(self, queue: str, payload: dict[str, Any], **kwargs: Any) -> None:  # type: ignore[override]
        # kombu's name, so its readers order and pick messages as before.
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        data = dumps(payload).encode()
        folder = self.data_folder_out
        try:
            # "writing-….part": what follows the first dot is never "<queue>.msg", so no reader takes it.
            descriptor, partial = tempfile.mkstemp(dir=folder, prefix="writing-", suffix=".part")
            try:
                with os.fdopen(descriptor, "wb") as file:
                    file.write(data)
                os.replace(partial, os.path.join(folder, name))
            except BaseException:
                os.unlink(partial)
                raise
        except OSError as exc:
            raise ChannelError(f"Cannot add file {name!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
