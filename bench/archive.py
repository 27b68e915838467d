"""Complete export and import of the benchmark-scale workspace (issue 14), on PostgreSQL.

Seeds ``seed_demo --scale 2500`` once (``BENCH_ARCHIVE_SCALE``; 1,000
providers, 100,000 engagements, about a million messages) into its own
throw-away database, then times the export's build (the task's body) and the
import of that zip into a fresh workspace (check pass and load), and prints
rows per second and the zip's size. No target: the issue names none; both
run in a worker, with progress on the page.

``BENCH_ARCHIVE_RESEED=1`` drops and seeds the database again.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

from bench.__main__ import _prepare_database

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/outsourcing_bench_archive"
SCALE = int(os.environ.get("BENCH_ARCHIVE_SCALE", "2500"))


def main() -> int:
    url = os.environ.get("BENCH_ARCHIVE_DATABASE_URL", DEFAULT_URL)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "outsourcing.settings")
    _prepare_database(url, drop=os.environ.get("BENCH_ARCHIVE_RESEED") == "1")
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--no-input", "-v", "0"], check=True)
    subprocess.run([*manage, "seed_demo", "--scale", str(SCALE)], check=True)

    import django

    django.setup()
    from django.conf import settings

    media = tempfile.mkdtemp(prefix="bench-archive-")
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": media}},
    }
    from django.core.files import File

    from engagements.archive import services
    from engagements.models import DataArchive
    from outsourcing.models import Membership, Role, Workspace
    from outsourcing.services import workspace_create

    source = Workspace.objects.get(slug="demo")
    owner = Membership.objects.get(workspace=source, role=Role.OWNER).user

    export = DataArchive.objects.create(workspace=source, kind=DataArchive.Kind.EXPORT, requested_by=owner)
    started = time.perf_counter()
    outcome = services.archive_export_run(export.pk)
    export_seconds = time.perf_counter() - started
    export.refresh_from_db()
    if outcome != "done":
        raise SystemExit(f"export {outcome}: {export.error}")
    rows = sum(export.counts.values())
    print(
        f"export: {rows:,} rows ({export.counts['messages']:,} messages), zip {export.size / 1e6:.0f} MB, "
        f"in {export_seconds:.1f} s ({rows / export_seconds:,.0f} rows/s)"
    )

    # A new workspace each run: deleting a million imported rows through the ORM takes longer than
    # the import, so they stay in this throw-away database (BENCH_ARCHIVE_RESEED=1 starts afresh).
    target = workspace_create(name="Bench import", owner=owner, slug=f"bench-import-{int(time.time())}")
    imported = DataArchive(
        workspace=target, kind=DataArchive.Kind.IMPORT, requested_by=owner, size=export.size
    )
    with export.file.open("rb") as handle:
        imported.file.save("import.zip", File(handle), save=False)
    imported.save()
    started = time.perf_counter()
    outcome = services.archive_import_run(imported.pk)
    import_seconds = time.perf_counter() - started
    imported.refresh_from_db()
    if outcome != "done":
        raise SystemExit(f"import {outcome}: {imported.error}")
    loaded = sum(imported.counts.values())
    print(f"import: {loaded:,} rows in {import_seconds:.1f} s ({loaded / import_seconds:,.0f} rows/s)")

    services.archive_delete(archive=export)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
