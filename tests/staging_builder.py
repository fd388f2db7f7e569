"""Hand-written staging tables for unit tests: a few rows, every column explicit.

``StagingBuilder`` fills every contract column with a plausible default so a
test only states what it is about, then writes a Parquet staging folder.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from schemas.staging import TABLES

_ARROW = {"VARCHAR": pa.string(), "TIMESTAMP": pa.timestamp("us"), "BOOLEAN": pa.bool_()}
BASE_TIME = datetime(2026, 10, 1, 12, 0, 0)


class StagingBuilder:
    def __init__(self) -> None:
        self.rows: dict[str, list[dict]] = {t: [] for t in TABLES}
        self._n = 0

    def _next(self) -> int:
        self._n += 1
        return self._n

    def _row(self, table: str, **values) -> dict:
        n = self._next()
        row = {c.name: None for c in TABLES[table].columns}
        row.update(CreatedDate=BASE_TIME + timedelta(minutes=n), LastModifiedDate=BASE_TIME + timedelta(minutes=n), IsDeleted=False)
        row.update(values)
        self.rows[table].append(row)
        return row

    def case(self, case_id: str, **values) -> dict:
        defaults = dict(
            Id=case_id, CaseNumber=f"50000{len(self.rows['case']) + 10000:05d}", Status="Closed", Priority="High",
            Origin="Email", Product__c="ProLiant DL380 Gen10", Subject="Memory health degraded on DL380",
            Description="Customer reports memory errors after firmware 2.78.10 update.",
            Resolution__c="<p>Engineer replaced faulty <b>DIMM</b> module.</p>", IsClosed=True,
            ContactName="John Smith", ContactEmail="john.smith@example.com", ContactPhone="+1 415 555 0134",
        )
        defaults.update(values)
        return self._row("case", **defaults)

    def task(self, case_id: str, **values) -> dict:
        return self._row("task", **{"Id": f"00T{self._n + 1:015d}", "WhatId": case_id, "Type": "Plan of Action",
                                    "Subject": "Part needed: Yes - Part Number 815098-B21", **values})

    def workorder(self, case_id: str, **values) -> dict:
        return self._row("workorder", **{"Id": f"0WO{self._n + 1:015d}", "CaseId": case_id,
                                         "WorkOrderNumber": f"WO-{self._n + 1:08d}", "Subject": "Replace DIMM", **values})

    def comment(self, case_id: str, body: str, **values) -> dict:
        return self._row("casecomment", **{"Id": f"00a{self._n + 1:015d}", "ParentId": case_id, "CommentBody": body,
                                           "IsPublished": True, **values})

    def email(self, case_id: str, **values) -> dict:
        return self._row("emailmessage", **{"Id": f"02s{self._n + 1:015d}", "ParentId": case_id,
                                            "Subject": "RE: HPE Support Case", "TextBody": "Thanks.", "Incoming": True, **values})

    def feed(self, workorder_id: str, **values) -> dict:
        return self._row("workorderfeed", **{"Id": f"0D5{self._n + 1:015d}", "ParentId": workorder_id,
                                             "Type": "TextPost", "Title": "Partner Notes", "Body": "CE: Replace DIMM", **values})

    def table(self, name: str, overrides: dict[str, pa.DataType] | None = None) -> pa.Table:
        spec = TABLES[name]
        types = {c.name: _ARROW[c.sql_type] for c in spec.columns}
        types.update(overrides or {})
        cols = {c: pa.array([r.get(c) for r in self.rows[name]], type=types[c]) for c in types}
        return pa.table(cols)

    def write(self, folder: Path, overrides: dict[str, dict[str, pa.DataType]] | None = None,
              skip: tuple[str, ...] = ()) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for name in TABLES:
            if name in skip:
                continue
            pq.write_table(self.table(name, (overrides or {}).get(name)), folder / f"{name}.parquet")
        return folder


def read_staging_table(staging: Path, name: str) -> pa.Table:
    """All rows of one table of a Parquet staging folder (``<staging>/<name>/*.parquet``)."""
    import pyarrow.dataset as ds

    return ds.dataset(Path(staging) / name, format="parquet").to_table()


def rewrite_staging_table(staging: Path, name: str, table: pa.Table) -> None:
    """Replace one table of a Parquet staging folder with ``table`` (one file), as an edit upstream would."""
    import shutil

    folder = Path(staging) / name
    shutil.rmtree(folder)
    folder.mkdir()
    pq.write_table(table, folder / "part-00000.parquet")
