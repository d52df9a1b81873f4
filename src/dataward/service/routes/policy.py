"""The policy in force: ``GET /v1/policy`` (what it says) and ``GET /v1/policy/status`` (the
annual review)."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from dataward.policy import Policy
from dataward.policy.model import Rule
from dataward.service.context import ServiceContext
from dataward.service.deps import Caller, get_context, requires
from dataward.service.roles import Permission

__all__ = ["PolicyOut", "PolicyStatus", "router"]

router = APIRouter(tags=["policy"])


class ProcessorOut(BaseModel):
    name: str
    purpose: str
    categories: list[str]
    dpa: str = Field(description="The data processing agreement that binds the processor.")
    country: str
    description: str


class RuleRetention(BaseModel):
    keep: str
    archive: str | None


class RuleOut(BaseModel):
    id: str
    effect: str = Field(description="`allow` or `deny`.")
    actions: list[str]
    target: str = Field(description="What the rule covers: a class or categories.")
    data_class: str | None
    categories: list[str]
    roles: list[str] | None = Field(description="Roles it applies to; null means any role.")
    purposes: list[str] | None = Field(description="Purposes; null means any purpose.")
    recipients: list[str] | None = Field(description="Recipients (share); null means any.")
    obligations: list[str]
    retention: RuleRetention | None
    cites: str = Field(description="The agreement's words the rule implements.")
    description: str


class _Dates(BaseModel):
    version: str
    effective: date
    next_review: date
    owner: str
    overdue: bool = Field(description="True when the next review date has passed.")
    days_to_review: int = Field(description="Days until the review (negative when overdue).")
    audit_retention: str = Field(description="How long audit entries are kept (ISO-8601).")


class PolicyStatus(_Dates):
    """The review status: the policy has a version, an effective date and a next review date
    one year on."""

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "version": "2026.1",
                    "effective": "2026-01-01",
                    "next_review": "2027-01-01",
                    "owner": "Data Protection Manager",
                    "overdue": False,
                    "days_to_review": 33,
                    "audit_retention": "P10Y",
                }
            ]
        }
    }


class PolicyOut(_Dates):
    """The policy in force: metadata, vocabulary of roles and purposes, processors, rules."""

    roles: dict[str, str] = Field(description="Role name -> description.")
    purposes: dict[str, str] = Field(description="Purpose name -> description.")
    processors: list[ProcessorOut]
    rules: list[RuleOut]


def _dates(policy: Policy, today: date | None = None) -> dict[str, object]:
    md = policy.metadata
    today = today or date.today()
    return {
        "version": md.version,
        "effective": md.effective,
        "next_review": md.next_review,
        "owner": md.owner,
        "overdue": md.overdue(today),
        "days_to_review": (md.next_review - today).days,
        "audit_retention": str(policy.audit_retention),
    }


def _rule(r: Rule) -> RuleOut:
    ret = r.retention
    return RuleOut(
        id=r.id,
        effect=r.effect,
        actions=[a.value for a in r.actions],
        target=r.target,
        data_class=None if r.data_class is None else r.data_class.value,
        categories=list(r.categories),
        roles=None if r.roles is None else sorted(r.roles),
        purposes=None if r.purposes is None else sorted(r.purposes),
        recipients=None if r.recipients is None else sorted(r.recipients),
        obligations=sorted(o.value for o in r.obligations),
        retention=None
        if ret is None
        else RuleRetention(
            keep=str(ret.keep), archive=None if ret.archive is None else str(ret.archive)
        ),
        cites=r.cites,
        description=r.description,
    )


@router.get("/v1/policy", response_model=PolicyOut, summary="The policy in force")
async def show_policy(
    caller: Caller = Depends(requires(Permission.POLICY_READ)),  # noqa: B008 - FastAPI's idiom
    ctx: ServiceContext = Depends(get_context),  # noqa: B008
) -> PolicyOut:
    policy = ctx.policy
    return PolicyOut.model_validate(
        {
            **_dates(policy),
            "roles": dict(policy.roles),
            "purposes": dict(policy.purposes),
            "processors": [
                ProcessorOut(
                    name=p.name,
                    purpose=p.purpose,
                    categories=sorted(p.categories),
                    dpa=p.dpa,
                    country=p.country,
                    description=p.description,
                )
                for p in policy.processors.values()
            ],
            "rules": [_rule(r) for r in policy.rules],
        }
    )


@router.get("/v1/policy/status", response_model=PolicyStatus, summary="The policy's review status")
async def policy_status(
    caller: Caller = Depends(requires(Permission.POLICY_READ)),  # noqa: B008
    ctx: ServiceContext = Depends(get_context),  # noqa: B008
) -> PolicyStatus:
    return PolicyStatus.model_validate(_dates(ctx.policy))
