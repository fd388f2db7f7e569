"""The staging contract as data: the six tables, their columns and types.

Source of truth: ``shared/design/staging-contract.md``. Other tools read the
same tables, so names here are the Salesforce API names, exactly.

``TABLES`` drives the extract stage's set-based contract checks (DuckDB
``TRY_CAST`` per typed column) and the pandera schemas that validate the
extracted checkpoints.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "ColumnSpec",
    "TableSpec",
    "TABLES",
    "TABLE_NAMES",
    "CHILD_TABLES",
    "PII_CONTEXT_COLUMNS",
    "DEFAULT_TASK_TYPES",
]

SqlType = Literal["VARCHAR", "TIMESTAMP", "BOOLEAN"]


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    sql_type: SqlType = "VARCHAR"
    required: bool = True
    pii_context: bool = False


@dataclass(frozen=True)
class TableSpec:
    """One staging table: key, parent link and the columns the pipeline reads."""

    name: str
    columns: tuple[ColumnSpec, ...]
    parent_column: str | None = None
    parent_table: str | None = None

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def column(self, name: str) -> ColumnSpec:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"table {self.name!r} has no contract column {name!r}")


def _cols(*specs) -> tuple[ColumnSpec, ...]:
    out = []
    for s in specs:
        out.append(s if isinstance(s, ColumnSpec) else ColumnSpec(s))
    return tuple(out)


_TS = "TIMESTAMP"
_BOOL = "BOOLEAN"
_AUDIT = (
    ColumnSpec("CreatedDate", _TS),
    ColumnSpec("LastModifiedDate", _TS),
    ColumnSpec("IsDeleted", _BOOL),
)

TABLES: dict[str, TableSpec] = {
    "case": TableSpec(
        "case",
        _cols(
            "Id", "CaseNumber", "ParentId", "AccountId", "Status", "Priority",
            "Origin", "Product__c", "Category__c", "Product_Line__c",
            "Product_Number__c", "Product_Series__c", "Product_Hierarchy__c",
            "Product_Type__c", "Issue_Type__c", "Subject", "Description",
            "Issue_Plain_Text__c", "Cause_Plain_Text__c",
            "GSD_Environment_Plain_Text__c", "Error_Codes__c", "Resolution__c",
            "Resolution_Plain_Text__c", "Resolution_Code__c", "Root_Cause__c",
            "Case_Resolution_Summary__c", "Close_Comments__c",
            ColumnSpec("ClosedDate", _TS),
            ColumnSpec("IsClosed", _BOOL),
            *_AUDIT,
            ColumnSpec("SuppliedName", pii_context=True),
            ColumnSpec("SuppliedEmail", pii_context=True),
            ColumnSpec("SuppliedPhone", pii_context=True),
            ColumnSpec("SuppliedCompany", pii_context=True),
            ColumnSpec("ContactName", pii_context=True),
            ColumnSpec("ContactEmail", pii_context=True),
            ColumnSpec("ContactPhone", pii_context=True),
        ),
    ),
    "task": TableSpec(
        "task",
        _cols("Id", "WhatId", "Type", "Subject", "Description", *_AUDIT),
        parent_column="WhatId",
        parent_table="case",
    ),
    "workorder": TableSpec(
        "workorder",
        _cols(
            "Id", "CaseId", "WorkOrderNumber", "Subject", "Description",
            "Problem_Description__c", "Onsite_Action__c", "Closing_Summary__c",
            *_AUDIT,
            ColumnSpec("Street", pii_context=True),
            ColumnSpec("City", pii_context=True),
            ColumnSpec("State", pii_context=True),
            ColumnSpec("PostalCode", pii_context=True),
            ColumnSpec("Country", pii_context=True),
            ColumnSpec("ContactName", pii_context=True),
            ColumnSpec("ContactPhone", pii_context=True),
        ),
        parent_column="CaseId",
        parent_table="case",
    ),
    "casecomment": TableSpec(
        "casecomment",
        _cols("Id", "ParentId", "CommentBody", ColumnSpec("IsPublished", _BOOL), *_AUDIT),
        parent_column="ParentId",
        parent_table="case",
    ),
    "emailmessage": TableSpec(
        "emailmessage",
        _cols(
            "Id", "ParentId", "Subject", "TextBody", "HtmlBody",
            ColumnSpec("Incoming", _BOOL), ColumnSpec("MessageDate", _TS),
            *_AUDIT,
            ColumnSpec("FromName", pii_context=True),
            ColumnSpec("FromAddress", pii_context=True),
            ColumnSpec("ToAddress", pii_context=True),
            ColumnSpec("CcAddress", pii_context=True),
        ),
        parent_column="ParentId",
        parent_table="case",
    ),
    "workorderfeed": TableSpec(
        "workorderfeed",
        _cols("Id", "ParentId", "Type", "Title", "Body", *_AUDIT),
        parent_column="ParentId",
        parent_table="workorder",
    ),
}

TABLE_NAMES: tuple[str, ...] = tuple(TABLES)
CHILD_TABLES: tuple[str, ...] = tuple(t for t in TABLES if t != "case")

PII_CONTEXT_COLUMNS: dict[str, tuple[str, ...]] = {
    name: tuple(c.name for c in spec.columns if c.pii_context)
    for name, spec in TABLES.items()
}

DEFAULT_TASK_TYPES: tuple[str, ...] = ("Plan of Action", "Trouble Shooting")
