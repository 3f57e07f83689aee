import argparse
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import date, timedelta
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from openpyxl import Workbook

from villagers.identity import check_character
from villagers.models import Township, Village
from villagers.roster import roster_import

HEADINGS = [
    "序号",
    "片区",
    "村民小组",
    "户号",
    "姓名",
    "性别",
    "与户主关系",
    "身份证号码",
    "出生日期",
    "联系电话",
]
RELATIONS = ["户主", "配偶", "子", "女", "孙子"]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN_NAMES = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂"


class Command(BaseCommand):
    help = (
        "Benchmark the roster import: write synthetic rosters with valid ID numbers into a "
        "temporary folder, import each into the configured database inside a transaction "
        "that is rolled back, and print the time and the peak memory of the importing process."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--rows",
            type=int,
            nargs="+",
            default=[5000, 20000, 50000],
            help="Roster sizes to import, in rows. Default: 5000 20000 50000.",
        )
        parser.add_argument(
            "--tracemalloc",
            action="store_true",
            help=(
                "Also print the peak of Python allocations during the import, traced by "
                "tracemalloc. Tracing slows the import, so its seconds are not comparable."
            ),
        )
        # Internal: import one file and print its figures (run in a fresh process per size).
        parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)

    def handle(self, *args, rows: list[int], measure: Path | None, **options):
        trace = options["tracemalloc"]
        if measure is not None:
            self._measure(measure, trace=trace)
            return
        heading = "   rows   file MB   seconds   rows/s   peak RSS MB   RSS growth MB"
        self.stdout.write(heading + ("   traced peak MB" if trace else ""))
        with tempfile.TemporaryDirectory() as folder:
            for size in rows:
                path = Path(folder) / f"roster-{size}.xlsx"
                write_synthetic_roster(path, size)
                # A fresh process per size, so each peak RSS belongs to one import only.
                command = [sys.executable, "manage.py", "bench_roster", "--measure", str(path)]
                result = subprocess.run(  # noqa: S603 - runs this same command
                    command + (["--tracemalloc"] if trace else []),
                    cwd=settings.BASE_DIR,
                    capture_output=True,
                    text=True,
                    check=True,
                )
                seconds, peak, growth, traced = (float(value) for value in result.stdout.split())
                self.stdout.write(
                    f"{size:>7} {path.stat().st_size / 1e6:9.1f} {seconds:9.1f} "
                    f"{size / seconds:8.0f} {peak:13.0f} {growth:15.0f}"
                    + (f" {traced:16.1f}" if trace else "")
                )

    def _measure(self, path: Path, *, trace: bool) -> None:
        """Import ``path`` and print seconds, peak RSS, its growth and the traced peak, in MB.

        The traced peak is 0 without ``trace``.
        """
        with transaction.atomic():
            township, _created = Township.objects.get_or_create(name="基准测试镇")
            village = Village.objects.create(township=township, name=f"基准测试村{path.stem}")
            before = _max_rss_mb()
            if trace:
                tracemalloc.start()
            started = time.perf_counter()
            report = roster_import(path=path, village=village, actor=None)
            seconds = time.perf_counter() - started
            traced = _mb(tracemalloc.get_traced_memory()[1]) if trace else 0.0
            tracemalloc.stop()
            peak = _max_rss_mb()
            rows = len(report.rows)
            transaction.set_rollback(True)
        if report.rejected:
            raise CommandError(f"the synthetic roster has rejected rows: {report.rejected[:3]}")
        if rows != int(path.stem.removeprefix("roster-")):
            raise CommandError(f"the report lists {rows} rows, not one per row of {path.name}")
        self.stdout.write(f"{seconds:.2f} {peak:.1f} {peak - before:.1f} {traced:.1f}")


def _max_rss_mb() -> float:
    # Linux reports ru_maxrss in kilobytes.
    return _mb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)


def _mb(size: int) -> float:
    """Return ``size`` bytes in MB of 2**20 bytes, the unit of both memory figures."""
    return size / 2**20


def write_synthetic_roster(path: Path, size: int) -> None:
    """Write ``size`` people in households of one to five, six districts, valid ID numbers."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(["基准测试花名册"])
    sheet.append([])
    sheet.append(HEADINGS)
    household = 0
    member = 0
    for index in range(size):
        if member == 0:
            household += 1
            household_size = 1 + household % 5
        relation = RELATIONS[member]
        male = index % 2 == 0
        birth = date(1930, 1, 1) + timedelta(days=index // 500)
        sequence = (index % 500) * 2 + (1 if male else 0)
        first_17 = f"330109{birth:%Y%m%d}{sequence:03d}"
        sheet.append(
            [
                index + 1,
                f"第{1 + household % 6}片区",
                f"{1 + household % 24}组",
                f"{household:06d}",
                SURNAMES[household % len(SURNAMES)] + GIVEN_NAMES[index % len(GIVEN_NAMES)],
                "男" if male else "女",
                relation,
                first_17 + check_character(first_17),
                birth.isoformat(),
                f"138{index:08d}",
            ]
        )
        member = (member + 1) % household_size
    workbook.save(path)
