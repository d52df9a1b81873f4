"""Records and tables: field names in four languages plus sampled values."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dataward.detect import Detector, classify_columns, detect_record
from dataward.errors import InputError

FIELDS = [
    ("email", "jean@example.ch", "contact.email"),
    ("courriel", "marie@example.fr", "contact.email"),
    ("e_mail", "hans@example.de", "contact.email"),
    ("Vorname", "Hans", "person.name"),
    ("Nachname", "Müller", "person.name"),
    ("prenom", "Marie", "person.name"),
    ("nom", "Dubois", "person.name"),
    ("cognome", "Rossi", "person.name"),
    ("codice_fiscale", "RCCMNL83S18D969H", "identity.national_id"),
    ("iban", "CH9300762011623852957", "billing.iban"),
    ("password", "hunter2", "secret.password"),
    ("passwort", "geheim", "secret.password"),
    ("mot_de_passe", "secret", "secret.password"),
    ("telefono", "+39 06 6982 0000", "contact.phone"),
    ("customerEmail", "x@example.org", "contact.email"),
]


@pytest.mark.parametrize(("name", "value", "category"), FIELDS)
def test_field_names_and_values(patterns: Detector, name: str, value: str, category: str) -> None:
    report = detect_record({name: value}, detector=patterns)[name]
    assert report.category == category
    assert 0.5 <= report.confidence <= 1.0


def test_value_reveals_badly_named_field(patterns: Detector) -> None:
    report = detect_record({"misc": "4111 1111 1111 1111"}, detector=patterns)["misc"]
    assert (report.category, report.source) == ("card.pan", "value")


def test_agreement_raises_confidence(patterns: Detector) -> None:
    rep = detect_record({"email": "a@example.com", "mail": ""}, detector=patterns)
    assert rep["email"].source == "name+value"
    assert rep["email"].confidence > rep["mail"].confidence


def test_free_text_keeps_findings_and_nested(patterns: Detector) -> None:
    rep = detect_record(
        {"ticket": {"comment": "Customer a@example.com called from +41 44 668 18 00", "id": 7}},
        detector=patterns,
    )
    note = rep["ticket.comment"]
    assert note.category == "communication.support_message"
    assert {f.category for f in note.findings} == {"contact.email", "contact.phone"}
    assert rep["ticket.id"].category is None


def test_not_a_mapping() -> None:
    with pytest.raises(InputError):
        detect_record(["a"])  # type: ignore[arg-type]


ROWS = [
    {"Vorname": "Hans", "kontakt": "hans@example.de", "ip": "203.0.113.7", "status": "active"},
    {"Vorname": "Anna", "kontakt": "anna@example.de", "ip": "198.51.100.4", "status": "closed"},
    {"Vorname": "Urs", "kontakt": "urs@example.ch", "ip": "192.0.2.1", "status": "active"},
]
EXPECTED = {
    "Vorname": "person.name",
    "kontakt": "contact.email",
    "ip": "traffic.ip_address",
    "status": None,
}


def _check(report: dict[str, object]) -> None:
    assert {c: getattr(r, "category") for c, r in report.items()} == EXPECTED  # noqa: B009


def test_list_of_dicts(patterns: Detector) -> None:
    _check(classify_columns(ROWS, detector=patterns))


def test_columnar_dict(patterns: Detector) -> None:
    cols = {k: [r[k] for r in ROWS] for k in ROWS[0]}
    _check(classify_columns(cols, detector=patterns))


def test_csv_path_and_text(patterns: Detector, tmp_path: Path) -> None:
    text = "Vorname,kontakt,ip,status\n" + "\n".join(",".join(r.values()) for r in ROWS) + "\n"
    path = tmp_path / "t.csv"
    path.write_text(text, encoding="utf-8")
    _check(classify_columns(path, detector=patterns))
    _check(classify_columns(str(path), detector=patterns))
    _check(classify_columns(text, detector=patterns))


def test_jsonl(patterns: Detector, tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in ROWS) + "\n", encoding="utf-8")
    _check(classify_columns(path, detector=patterns))
    path.write_text('{"a": 1}\n{oops\n', encoding="utf-8")
    with pytest.raises(InputError, match="line 2"):
        classify_columns(path, detector=patterns)


def test_pyarrow_and_pandas(patterns: Detector) -> None:
    pa = pytest.importorskip("pyarrow")
    pd = pytest.importorskip("pandas")
    _check(classify_columns(pa.Table.from_pylist(ROWS), detector=patterns))
    _check(classify_columns(pd.DataFrame(ROWS), detector=patterns))


def test_value_share_and_sample(patterns: Detector) -> None:
    rows = [{"x": f"user{i}@example.com"} for i in range(50)] + [{"x": "n/a"}] * 10
    rep = classify_columns(rows, detector=patterns, sample=60)["x"]
    assert rep.category == "contact.email"
    assert rep.sampled == 60
    assert rep.value_categories == {"contact.email": 50}
