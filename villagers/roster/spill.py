"""Temporary files that hold per-row records of an import instead of Python lists.

A township's roster has tens of thousands of rows. Keeping one Python object
per row for the report would make memory grow with the file, so each record
is written to a temporary file as it is made and read back as a stream.
"""

import heapq
import json
import pickle
import tempfile
from collections.abc import Iterator
from typing import IO, Any, Generic, TypeVar

T = TypeVar("T")


class RowLog:
    """The outcomes of a file's rows, read back in row order.

    Outcomes are written in three runs, each in row order. Rejected rows are
    known as the file is read, and saved rows when their batch is saved.
    The third run has the rows put off until their household's head was
    saved. Reading merges the runs, so the report lists rows as the file
    does. Each line is one JSON array, so a name or message with a line
    break stays on one line. The outcome class is passed in to avoid an
    import cycle with the module that defines it.
    """

    REJECTED = 0
    SAVED = 1
    PUT_OFF = 2

    def __init__(self, outcome_class: Any) -> None:
        self._outcome_class = outcome_class
        self._runs = [_text_file(), _text_file(), _text_file()]
        self._count = 0

    def write(self, outcome: Any, *, run: int) -> None:
        row = [outcome.row_number, outcome.name, outcome.status, outcome.detail]
        self._runs[run].write(json.dumps(row, ensure_ascii=False) + "\n")
        self._count += 1

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[Any]:
        for run in self._runs:
            run.flush()
        runs = [self._read(run.name) for run in self._runs]
        return heapq.merge(*runs, key=lambda outcome: outcome.row_number)

    def _read(self, name: str) -> Iterator[Any]:
        with open(name, encoding="utf-8") as lines:
            for line in lines:
                yield self._outcome_class(*json.loads(line))


class PutOff(Generic[T]):
    """Records put aside during a pass and read back once, in the order written."""

    def __init__(self) -> None:
        self._file: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed in read_all
        self.count = 0

    def add(self, record: T) -> None:
        pickle.dump(record, self._file, protocol=pickle.HIGHEST_PROTOCOL)
        self.count += 1

    def read_all(self) -> Iterator[T]:
        self._file.seek(0)
        try:
            for _index in range(self.count):
                yield pickle.load(self._file)  # noqa: S301 - a file this process wrote  # nosec B301
        finally:
            self._file.close()


def _text_file() -> IO[str]:
    # Deleted when closed or collected; reopened by name for each read.
    return tempfile.NamedTemporaryFile(  # noqa: SIM115 - lives as long as the report
        "w", encoding="utf-8", suffix=".jsonl", prefix="roster-report-"
    )
