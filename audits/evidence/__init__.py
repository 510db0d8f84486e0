"""Evidence: policies with pass/fail checks, audit reports (JSON, HTML, Markdown) with hashes, verification."""

from ._diff import diff_reports, report_or_model
from ._dsse import init_keys, key_files, key_id, load_private_key, load_public_key
from ._pipeline import PipelineCancelled, load_pipeline, run_pipeline
from ._policy import (
    EXIT_CODES,
    MAX_POLICY_BYTES,
    OUTCOME_WORDS,
    SHIPPED,
    PolicyError,
    evaluate_policy,
    junit_xml,
    load_policy,
    missing_audits,
    outcome_of,
    parse_policy,
    run_missing,
    shipped_policy,
)
from ._report import SCHEMA, build_report, file_report, verdict, verify_report, write_reports
from ._reproduce import load_report, reproduce
from ._signoff import approve

__all__ = ["approve", "build_report", "diff_reports", "report_or_model",
           "evaluate_policy", "EXIT_CODES", "file_report", "init_keys", "junit_xml", "key_files",
           "key_id", "load_pipeline", "PipelineCancelled",
           "load_policy", "load_private_key", "load_public_key", "load_report",
           "MAX_POLICY_BYTES", "missing_audits", "outcome_of", "OUTCOME_WORDS", "parse_policy", "PolicyError",
           "reproduce", "run_missing", "run_pipeline", "SCHEMA", "SHIPPED", "shipped_policy", "verdict",
           "verify_report", "write_reports"]
