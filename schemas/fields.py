"""The 44 stored fields of a case, as one table of data.

Every part of the pipeline that needs to know "which fields exist, where they
come from, whether they are embedded, redacted or counted" reads this table:
compose builds its SQL from it, redact knows which columns are free text, the
stores derive their schema from it and export lists its properties. Keeping it
as data (not as code spread over the stages) is what keeps the 44 in sync.

Field numbers and flags follow ``shared/design/staging-contract.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "FieldSpec",
    "FIELDS",
    "FIELD_BY_PROPERTY",
    "CASE_FIELDS",
    "CHILD_FIELDS",
    "FREE_TEXT_PROPERTIES",
    "EMBEDDED_FIELDS",
    "LINEAGE_PROPERTIES",
    "NAMED_VECTORS",
]

Kind = Literal["key", "text", "picklist", "date"]


@dataclass(frozen=True)
class FieldSpec:
    """One of the 44 fields: its source and how the pipeline treats it."""

    number: int
    table: str
    column: str
    property: str
    kind: Kind
    embedded: bool = False
    issue: bool = False
    resolution: bool = False
    html: bool = False
    label: str = ""

    @property
    def is_list(self) -> bool:
        """Child-table fields are stored as lists, one entry per child row."""
        return self.table != "case"

    @property
    def free_text(self) -> bool:
        """Free text may carry personal data and goes through the PII stage."""
        return self.kind == "text"


def _f(number, table, column, prop, kind, flags="", label=""):
    return FieldSpec(
        number=number,
        table=table,
        column=column,
        property=prop,
        kind=kind,
        embedded="V" in flags,
        issue="I" in flags,
        resolution="R" in flags,
        html="H" in flags,
        label=label,
    )


FIELDS: tuple[FieldSpec, ...] = (
    _f(1, "case", "Id", "case_id", "key"),
    _f(2, "case", "CaseNumber", "case_number", "key"),
    _f(3, "case", "ParentId", "parent_id", "key"),
    _f(4, "case", "AccountId", "account_id", "key"),
    _f(5, "case", "Status", "status", "picklist"),
    _f(6, "case", "Priority", "priority", "picklist"),
    _f(7, "case", "Origin", "origin", "picklist"),
    _f(8, "case", "Product__c", "product", "picklist"),
    _f(9, "case", "Category__c", "category", "picklist"),
    _f(10, "case", "Product_Line__c", "product_line", "picklist"),
    _f(11, "case", "Product_Number__c", "product_number", "picklist"),
    _f(12, "case", "Product_Series__c", "product_series", "picklist"),
    _f(13, "case", "Product_Hierarchy__c", "product_hierarchy", "picklist"),
    _f(14, "case", "Product_Type__c", "product_type", "picklist"),
    _f(15, "case", "Issue_Type__c", "issue_type", "picklist", "I"),
    _f(16, "case", "Subject", "subject", "text", "VI", "Subject"),
    _f(17, "case", "Description", "description", "text", "VI", "Description"),
    _f(18, "case", "Issue_Plain_Text__c", "issue_plain_text", "text", "VI", "Issue"),
    _f(19, "case", "Cause_Plain_Text__c", "cause_plain_text", "text", "VI", "Cause"),
    _f(20, "case", "GSD_Environment_Plain_Text__c", "gsd_environment_plain_text", "text", "VI", "Environment"),
    _f(21, "case", "Error_Codes__c", "error_codes", "text", "I"),
    _f(22, "case", "Resolution__c", "resolution", "text", "VRH", "Resolution"),
    _f(23, "case", "Resolution_Plain_Text__c", "resolution_plain_text", "text", "VR", "Resolution details"),
    _f(24, "case", "Resolution_Code__c", "resolution_code", "picklist", "R"),
    _f(25, "case", "Root_Cause__c", "root_cause", "text", "VR", "Root cause"),
    _f(26, "case", "Case_Resolution_Summary__c", "case_resolution_summary", "text", "VR", "Resolution summary"),
    _f(27, "case", "Close_Comments__c", "close_comments", "text", "R"),
    _f(28, "case", "CreatedDate", "created_date", "date"),
    _f(29, "case", "ClosedDate", "closed_date", "date"),
    _f(30, "task", "Type", "task_types", "picklist"),
    _f(31, "task", "Subject", "task_subjects", "text", "VR", "Task"),
    _f(32, "task", "Description", "task_descriptions", "text", "VR", "Task details"),
    _f(33, "workorder", "WorkOrderNumber", "workorder_numbers", "key"),
    _f(34, "workorder", "Subject", "workorder_subjects", "text", "VR", "Work order"),
    _f(35, "workorder", "Description", "workorder_descriptions", "text", "VR", "Work order details"),
    _f(36, "workorder", "Problem_Description__c", "workorder_problem_descriptions", "text", "VR", "Problem"),
    _f(37, "workorder", "Onsite_Action__c", "workorder_onsite_actions", "text", "VR", "Onsite action"),
    _f(38, "workorder", "Closing_Summary__c", "workorder_closing_summaries", "text", "VR", "Closing summary"),
    _f(39, "casecomment", "CommentBody", "comment_bodies", "text", "VIR", "Comment"),
    _f(40, "workorderfeed", "Type", "feed_types", "picklist"),
    _f(41, "workorderfeed", "Title", "feed_titles", "text", "VR", "Field note"),
    _f(42, "workorderfeed", "Body", "feed_bodies", "text", "VR", "Field note details"),
    _f(43, "emailmessage", "Subject", "email_subjects", "text", "VR", "Email"),
    _f(44, "emailmessage", "TextBody", "email_bodies", "text", "VR", "Email body"),
)

assert len(FIELDS) == 44 and [f.number for f in FIELDS] == list(range(1, 45))

FIELD_BY_PROPERTY: dict[str, FieldSpec] = {f.property: f for f in FIELDS}
CASE_FIELDS: tuple[FieldSpec, ...] = tuple(f for f in FIELDS if f.table == "case")
CHILD_FIELDS: tuple[FieldSpec, ...] = tuple(f for f in FIELDS if f.table != "case")
FREE_TEXT_PROPERTIES: tuple[str, ...] = tuple(f.property for f in FIELDS if f.free_text)
EMBEDDED_FIELDS: tuple[FieldSpec, ...] = tuple(f for f in FIELDS if f.embedded)

#: Properties stored beside the 44 fields so the store can be reconciled
#: against lineage without asking lineage.
LINEAGE_PROPERTIES: tuple[str, ...] = (
    "checksum",
    "source_last_modified",
    "run_id",
    "primary_model",
    "fallback_model",
)

#: Named vectors of a stored object. Two sizes never share one index.
NAMED_VECTORS: tuple[str, ...] = ("primary", "fallback")
