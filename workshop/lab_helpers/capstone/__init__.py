"""The capstone: its pipeline deployed from channel entries, the data it takes in, and its ledger."""

from workshop.lab_helpers.capstone.data import returns_files, stock_files, with_property
from workshop.lab_helpers.capstone.ledger import ledger, outputs_of, settled, unaccounted
from workshop.lab_helpers.capstone.pipeline import (
    ALARM_INBOX,
    ALARM_TOPIC,
    ARCHIVE,
    DOCUMENTS,
    ERROR,
    INCOMING,
    ORDERS,
    OUTPUT,
    RECORDS,
    REJECTIONS_ALARM,
    Channel,
    deploy,
    provision,
)

__all__ = [
    "ALARM_INBOX",
    "ALARM_TOPIC",
    "ARCHIVE",
    "DOCUMENTS",
    "ERROR",
    "INCOMING",
    "ORDERS",
    "OUTPUT",
    "RECORDS",
    "REJECTIONS_ALARM",
    "Channel",
    "deploy",
    "ledger",
    "outputs_of",
    "provision",
    "returns_files",
    "settled",
    "stock_files",
    "unaccounted",
    "with_property",
]
