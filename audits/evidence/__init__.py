"""Evidence: policies with pass/fail checks, audit reports (JSON, HTML, Markdown) with hashes, verification."""

from ._pipeline import load_pipeline, run_pipeline
from ._policy import MAX_POLICY_BYTES, PolicyError, evaluate_policy, junit_xml, load_policy, parse_policy
from ._report import SCHEMA, build_report, file_report, verify_report, write_reports

__all__ = ["MAX_POLICY_BYTES", "SCHEMA", "PolicyError", "build_report", "evaluate_policy", "file_report", "junit_xml",
           "load_pipeline", "load_policy", "parse_policy", "run_pipeline", "verify_report", "write_reports"]
