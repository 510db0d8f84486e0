"""Evidence: policies with pass/fail checks, audit reports (JSON, HTML, Markdown) with hashes, verification."""

from ._pipeline import load_pipeline, run_pipeline
from ._policy import (
    EXIT_CODES,
    MAX_POLICY_BYTES,
    OUTCOME_WORDS,
    PolicyError,
    evaluate_policy,
    junit_xml,
    load_policy,
    missing_audits,
    outcome_of,
    parse_policy,
    run_missing,
)
from ._report import SCHEMA, build_report, file_report, verify_report, write_reports

__all__ = ["build_report", "evaluate_policy", "EXIT_CODES", "file_report", "junit_xml", "load_pipeline",
           "load_policy", "MAX_POLICY_BYTES", "missing_audits", "outcome_of", "OUTCOME_WORDS", "parse_policy",
           "PolicyError", "run_missing", "run_pipeline", "SCHEMA", "verify_report", "write_reports"]
