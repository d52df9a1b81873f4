"""The decision route's own reading of the ``Authorization`` header agrees with FastAPI's
``HTTPBearer`` (what every other endpoint's ``requires`` dependency reads)."""

from __future__ import annotations

import asyncio

from hypothesis import given
from hypothesis import strategies as st
from starlette.requests import Request

from dataward.service.deps import BEARER, bearer_token

_values = st.one_of(
    st.sampled_from(
        [
            "Bearer dw_0123456789ab_" + "x" * 43,
            "bearer k",
            "BEARER  k ",
            "Basic abc",
            "Bearer",
            "Bearer ",
            "",
            " Bearer k",
            "Bearer a b",
        ]
    ),
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=20),
)


def _fastapis(headers: list[tuple[bytes, bytes]]) -> str | None:
    scope = {"type": "http", "method": "POST", "path": "/", "headers": headers}
    creds = asyncio.run(BEARER(Request(scope)))
    return None if creds is None else creds.credentials


@given(values=st.lists(_values, max_size=2), other=st.booleans())
def test_bearer_token_reads_the_header_as_httpbearer_does(values: list[str], other: bool) -> None:
    headers = [(b"authorization", v.encode("latin-1")) for v in values]
    if other:
        headers.insert(0, (b"content-type", b"application/json"))
    assert bearer_token(headers) == _fastapis(headers)


def test_bearer_token_examples() -> None:
    assert bearer_token([(b"authorization", b"Bearer abc")]) == "abc"
    assert bearer_token([(b"authorization", b"bearer  abc ")]) == "abc"
    assert bearer_token([(b"authorization", b"Basic abc")]) is None
    assert bearer_token([(b"authorization", b"Bearer")]) is None
    assert bearer_token([]) is None
