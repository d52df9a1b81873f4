"""Policy as code: the YAML policy file, compiled into a decision table.

``load_policy()`` returns a :class:`Policy`; ``Policy.decide(...)`` answers allow/deny with the
rule, the reason, the obligations and the retention; ``lint_policy``, ``diff_policies`` and
``run_policy_tests`` check, compare and test policy files.
"""

from __future__ import annotations

from dataward.policy.checks import LintFinding
from dataward.policy.diff import diff_policies
from dataward.policy.engine import Policy, load_policy
from dataward.policy.lint import lint_policy
from dataward.policy.model import (
    Decision,
    ExplainStep,
    Explanation,
    IsoDuration,
    Obligation,
    PolicyMetadata,
    Processor,
    Retention,
    Rule,
)
from dataward.policy.testing import PolicyTestReport, run_policy_tests

__all__ = [
    "Decision",
    "ExplainStep",
    "Explanation",
    "IsoDuration",
    "LintFinding",
    "Obligation",
    "Policy",
    "PolicyMetadata",
    "PolicyTestReport",
    "Processor",
    "Retention",
    "Rule",
    "diff_policies",
    "lint_policy",
    "load_policy",
    "run_policy_tests",
]
