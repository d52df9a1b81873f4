"""Traffic: IPv4/IPv6 addresses, MAC addresses, URLs and user agents."""

from __future__ import annotations

import functools
from typing import Final

from dataward.detect.spec import PatternRecognizer, PatternSpec
from dataward.detect.validators import ipv4_valid, ipv6_valid

__all__ = ["network_recognizer"]

_OCTET: Final = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_H: Final = "[0-9A-Fa-f]"
_UA_PRODUCTS: Final = (
    "Mozilla|Opera|curl|Wget|python-requests|Python-urllib|python-httpx|aiohttp|okhttp"
    "|Go-http-client|Java|Apache-HttpClient|PostmanRuntime|Dalvik|exoscale-cli|exo|aws-cli"
    "|Terraform|terraform-provider-[a-z]+|kubectl|Googlebot|bingbot|Safari|Chrome|Edg"
)


@functools.cache
def specs() -> tuple[PatternSpec, ...]:
    """The specs of this recognizer (compiled on first use, then shared)."""
    return (
        PatternSpec(
            id="ip.v4",
            category="traffic.ip_address",
            regex=r"\b" + _OCTET + r"(?:\." + _OCTET + r"){3}\b",
            prefilter=r"\d\.\d{1,3}\.\d{1,3}\.\d",
            score=0.9,
            validator=ipv4_valid,
            priority=50,
            explanation="pattern: dotted IPv4 address; validator: octets, not part of a version",
        ),
        PatternSpec(
            id="ip.v6",
            category="traffic.ip_address",
            regex=r"\b" + _H + r"{1,4}(?::" + _H + r"{1,4}){7}\b"
            r"|(?:\b"
            + _H
            + r"{1,4}(?::"
            + _H
            + r"{1,4}){0,6})?::(?:"
            + _H
            + r"{1,4}(?::"
            + _H
            + r"{1,4}){0,6}\b)?",
            prefilter=_H + r"{1,4}:(?::|" + _H + r"{1,4}:" + _H + r"{1,4}:" + _H + r"{1,4}:)",
            score=0.9,
            validator=ipv6_valid,
            priority=50,
            explanation="pattern: IPv6 address; validator: ipaddress parser",
        ),
        PatternSpec(
            id="mac",
            category="traffic.mac_address",
            regex=r"\b"
            + _H
            + "{2}(?::"
            + _H
            + r"{2}){5}\b|\b"
            + _H
            + "{2}(?:-"
            + _H
            + r"{2}){5}\b|\b"
            + _H
            + r"{4}\."
            + _H
            + r"{4}\."
            + _H
            + r"{4}\b",
            score=0.85,
            priority=52,
            explanation="pattern: MAC address (colon, dash or Cisco dotted form)",
        ),
        PatternSpec(
            id="url",
            category="traffic.url",
            # Unbounded runs: a counted {1,1000} makes RE2's program (and each match) 30x slower.
            regex=r"(?i)\b(?:https?|ftps?|wss?)://[^\s\"'<>`]+[^\s\"'<>`.,;:!?)\]}]"
            r"|\bwww\.[a-z0-9\-]{1,63}\.[a-z]{2,24}(?:/[^\s\"'<>`]*[^\s\"'<>`.,;:!?)\]}])?",
            prefilter=r"(?i)(?:://|www\.)",
            score=0.8,
            priority=20,
            explanation="pattern: URL with scheme or www.",
        ),
        PatternSpec(
            id="user_agent",
            category="traffic.user_agent",
            prefilter=r"(?:" + _UA_PRODUCTS + r")/\w",
            regex=r"\b(?:" + _UA_PRODUCTS + r")/[\w.\-]{1,40}"
            r"(?: {1,3}(?:\([^()\n\"]+\)|[\w.\-]+/[\w.\-+]+))*",
            score=0.8,
            priority=30,
            explanation="pattern: user-agent product tokens and comments",
        ),
    )


def network_recognizer() -> PatternRecognizer:
    return PatternRecognizer("network", specs())
