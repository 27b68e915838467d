"""The on-disk broker of `make run`: a worker never reads a message that is still being written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from queue import Empty

import pytest
from kombu import Connection
from kombu.exceptions import ChannelError

from outsourcing.broker import TRANSPORT
from outsourcing.settings import filesystem_broker_options

ROOT = Path(__file__).resolve().parents[2]


def test_a_worker_reading_the_queue_while_a_message_is_written_gets_it_whole_or_not_at_all(
    tmp_path, monkeypatch
):
    options = filesystem_broker_options(tmp_path)
    with (
        Connection("filesystem://", transport=TRANSPORT, transport_options=options) as writer,
        Connection("filesystem://", transport=TRANSPORT, transport_options=options) as reader,
    ):
        looks: list[object] = []

        def a_worker_looks() -> None:
            try:
                looks.append(reader.default_channel._get("celery"))
            except Empty:
                looks.append("nothing")
            except ValueError as exc:  # what kombu's own transport gives: an empty file, undecodable
                looks.append(exc)

        class LooksWhileSerialised:
            """A value whose serialising lets a worker look at the queue (kombu calls ``__json__``)."""

            def __json__(self) -> str:
                a_worker_looks()
                return "done"

        real_replace = os.replace

        def replace_after_a_look(source, target):
            a_worker_looks()
            real_replace(source, target)

        monkeypatch.setattr(os, "replace", replace_after_a_look)
        writer.default_channel._put("celery", {"body": LooksWhileSerialised()})
        a_worker_looks()

    # While the message was serialised and once it was written but not yet in place, the queue was empty;
    # then the worker got it whole.
    assert looks == ["nothing", "nothing", {"body": "done"}]
    # Nothing is left behind: not the message, nor the file it was written to first.
    assert os.listdir(options["data_folder_out"]) == []


def test_a_failed_write_leaves_no_partial_file_behind(tmp_path, monkeypatch):
    options = filesystem_broker_options(tmp_path)
    with Connection("filesystem://", transport=TRANSPORT, transport_options=options) as writer:
        channel = writer.default_channel

        def full_disk(*args, **kwargs):
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(os, "replace", full_disk)
        with pytest.raises(ChannelError, match="Cannot add file"):
            channel._put("celery", {"body": "hello"})
    assert os.listdir(options["data_folder_out"]) == []


def test_celery_on_the_on_disk_broker_uses_the_whole_message_transport(tmp_path):
    environ = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "CELERY_BROKER_URL"}}
    environ.update(
        {"DEBUG": "true", "DJANGO_SETTINGS_MODULE": "outsourcing.settings", "VAR_DIR": str(tmp_path)}
    )
    code = (
        "import django; django.setup()\n"
        "import json\n"
        "from outsourcing.celery import app\n"
        "with app.connection_for_write() as conn:\n"
        "    cls = conn.transport.__class__\n"
        "    print(json.dumps([app.conf.broker_url, f'{cls.__module__}:{cls.__name__}']))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environ, capture_output=True, text=True, check=True
    )
    assert json.loads(result.stdout.strip().splitlines()[-1]) == ["filesystem://", TRANSPORT]
