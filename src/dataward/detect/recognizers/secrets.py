"""Client secrets: passwords, provider API keys, tokens, private keys, OTP seeds, hashes."""

from __future__ import annotations

import functools
from typing import Final

from dataward.detect.spec import PatternRecognizer, PatternSpec, drop_upper_bounds
from dataward.detect.validators import high_entropy_valid, password_valid, token_valid

__all__ = ["secrets_recognizer"]

_PW_KEYS: Final = (
    r"(?:password|passwd|passphrase|pwd|pass|passwort|kennwort|mot_de_passe|mot de passe|motdepasse"
    r"|mdp|parola_?d_?ordine|parola d'ordine|parola chiave|db_pass(?:word)?|user_password)"
)
_SEP: Final = r"[\"']?\s{0,3}(?:=>|:=|[:=]|\s(?:is|est|ist|è|lautet|:)\s)\s{0,3}[\"']?"
# Key names that announce a secret (no counted prefix: "[\w.\-]{0,40}" before the keyword made
# every RE2 call ten times slower, and the finding is the value anyway).
_KEYED_NAMES: Final = (
    r"(?:secret|token|api[_\-]?key|apikey|access[_\-]?key|private[_\-]?key"
    r"|auth[_\-]?key|credential|session[_\-]?id|signature|client[_\-]?secret)[\w.\-]{0,20}"
)


def _provider(
    id: str,
    regex: str,
    what: str,
    category: str = "secret.api_key",
    prefilter: str | None = None,
) -> PatternSpec:
    return PatternSpec(
        id=f"secret.{id}",
        category=category,
        regex=regex,
        score=0.95,
        validator=token_valid,
        priority=95,
        prefilter=prefilter,
        explanation=f"pattern: {what}",
    )


_PW_REGEX: Final = r"(?i)\b" + _PW_KEYS + r"\b" + _SEP + r"([^\s\"',;}<>]{2,199}[^\s\"',;}<>.])"


@functools.cache
def specs() -> tuple[PatternSpec, ...]:
    """The specs of this recognizer (compiled on first use, then shared)."""
    return (
        PatternSpec(
            id="secret.password_kv",
            category="secret.password",
            regex=_PW_REGEX,
            prefilter=r"(?i)(?:pass|pwd|kennwort|mot.de.passe|motdepasse|mdp|parola)",
            # RE2's DFA gives up on the counted run on log text (8 MB/s): find starts without it
            finder=drop_upper_bounds(_PW_REGEX),
            group=1,
            score=0.9,
            validator=password_valid,
            priority=92,
            languages=frozenset({"en", "fr", "de", "it"}),
            explanation="pattern: value under a password key (key=value, JSON, YAML, prose)",
        ),
        PatternSpec(
            id="secret.url_userinfo",
            category="secret.password",
            regex=r"(?i)\b[a-z][a-z0-9+.\-]{1,15}://[^\s:/@\"'<>]{1,64}:([^\s:/@\"'<>]{1,128})@[\w\[]",
            prefilter=r"://[^\s:/@]{1,64}:[^\s:/@]{1,128}@",
            group=1,
            score=0.9,
            validator=password_valid,
            priority=92,
            explanation="pattern: password in URL user info",
        ),
        PatternSpec(
            id="secret.basic_auth",
            category="secret.password",
            prefilter=r"(?i)basic ",
            regex=r"(?i)\bauthorization\s{0,3}[:=]\s{0,3}[\"']?basic\s+([A-Za-z0-9+/]{8,}={0,2})",
            group=1,
            score=0.9,
            priority=93,
            explanation="pattern: HTTP Basic credentials",
        ),
        PatternSpec(
            id="secret.bearer",
            category="secret.token",
            prefilter=r"(?i)bearer\s",
            regex=r"(?i)\bbearer\s+([A-Za-z0-9\-._~+/]{16,}=*)",
            group=1,
            score=0.9,
            priority=90,
            explanation="pattern: bearer token",
        ),
        PatternSpec(
            id="secret.jwt",
            category="secret.token",
            regex=r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",
            prefilter=r"eyJ[A-Za-z0-9_\-]{8,}\.eyJ",
            score=0.95,
            priority=94,
            explanation="pattern: JSON Web Token (header.payload.signature)",
        ),
        PatternSpec(
            id="secret.private_key",
            category="secret.private_key",
            regex=r"-----BEGIN (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----"
            r"(?:[A-Za-z0-9+/=\s:,]|-[A-Za-z])*"
            r"(?:-----END (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----)?",
            prefilter=r"-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY",
            score=0.99,
            priority=99,
            explanation="pattern: PEM / OpenSSH / PGP private key block",
        ),
        PatternSpec(
            id="secret.putty_key",
            category="secret.private_key",
            regex=r"(?s)PuTTY-User-Key-File-\d: .*?Private-MAC: [0-9a-f]+",
            prefilter=r"PuTTY-User-Key-File",
            score=0.99,
            priority=99,
            explanation="pattern: PuTTY private key file",
        ),
        PatternSpec(
            id="secret.otpauth",
            category="secret.otp_seed",
            prefilter=r"(?i)otpauth",
            regex=r"(?i)\botpauth(?:-migration)?://[^\s\"'<>]+",
            score=0.99,
            priority=96,
            explanation="pattern: otpauth:// URI carrying a TOTP/HOTP seed",
        ),
        PatternSpec(
            id="secret.password_hash",
            category="secret.password_hash",
            regex=r"\$2[abxy]?\$\d{2}\$[./A-Za-z0-9]{53}"
            r"|\$argon2(?:id|i|d)\$v=\d+\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]{8,}\$[A-Za-z0-9+/]{16,}"
            r"|\$(?:1|5|6)\$(?:rounds=\d+\$)?[./A-Za-z0-9]{1,16}\$[./A-Za-z0-9]{22,86}"
            r"|\bpbkdf2_sha256\$\d+\$[A-Za-z0-9]+\$[A-Za-z0-9+/=]{20,}",
            prefilter=r"\$(?:2[abxy]?|argon2|1|5|6)\$|pbkdf2_sha256\$",
            score=0.95,
            priority=93,
            explanation="pattern: password hash (bcrypt, argon2, crypt, Django pbkdf2)",
        ),
        _provider(
            "aws_access_key",
            r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b",
            "AWS access key id",
        ),
        PatternSpec(
            id="secret.aws_secret_key",
            category="secret.api_key",
            prefilter=r"(?i)aws_?secret",
            regex=r"(?i)\baws_?secret_?(?:access_?)?key[\"']?\s{0,3}[:=]\s{0,3}[\"']?"
            r"([A-Za-z0-9/+=]{40})\b",
            group=1,
            score=0.95,
            priority=95,
            explanation="pattern: AWS secret access key under its key name",
        ),
        _provider(
            "github",
            r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}\b|\bgithub_pat_\w{82}\b",
            "GitHub token",
            prefilter=r"(?:gh[pousr]_|github_pat_)[A-Za-z0-9]{8}",
        ),
        _provider(
            "gitlab",
            r"\bglpat-[A-Za-z0-9_\-]{20}\b|\bgl(?:dt|rt|ptt|cbt|soat)-[\w\-]{20,}",
            "GitLab token",
            prefilter=r"gl(?:pat|dt|rt|ptt|cbt|soat)-",
        ),
        _provider("slack", r"\bxox[abposr]-[A-Za-z0-9\-]{10,200}", "Slack token", "secret.token"),
        _provider(
            "slack_webhook",
            r"https://hooks\.slack\.com/services/T[A-Z0-9]{6,}/B[A-Z0-9]{6,}/[A-Za-z0-9]{16,}",
            "Slack webhook URL",
            "secret.token",
        ),
        _provider("stripe", r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,99}\b", "Stripe secret key"),
        _provider("google", r"\bAIza[0-9A-Za-z_\-]{35}\b", "Google API key"),
        _provider(
            "google_oauth", r"\bya29\.[0-9A-Za-z_\-]{20,}", "Google OAuth token", "secret.token"
        ),
        _provider("exoscale", r"\bEXO[0-9a-f]{24}\b", "Exoscale API key"),
        _provider(
            "azure_storage",
            r"(?i)AccountKey=[A-Za-z0-9+/]{86}==",
            "Azure storage key",
            prefilter=r"(?i)AccountKey=",
        ),
        _provider(
            "azure_sas",
            r"(?i)\bsig=[A-Za-z0-9%+/]{40,}={0,2}",
            "Azure SAS signature",
            "secret.token",
        ),
        _provider(
            "openai",
            r"\bsk-(?:proj-|svcacct-)?[A-Za-z0-9_\-]{20,}T3BlbkFJ[A-Za-z0-9_\-]{20,}",
            "OpenAI key",
            prefilter=r"T3BlbkFJ",
        ),
        _provider(
            "anthropic",
            r"\bsk-ant-(?:api|admin)\d{2}-[A-Za-z0-9_\-]{80,}",
            "Anthropic key",
            prefilter=r"sk-ant-",
        ),
        _provider(
            "sendgrid",
            r"\bSG\.[\w\-]{22}\.[\w\-]{43}\b",
            "SendGrid key",
            prefilter=r"SG\.[\w\-]{22}\.",
        ),
        _provider("twilio", r"\bSK[0-9a-f]{32}\b", "Twilio key"),
        _provider("npm", r"\bnpm_[A-Za-z0-9]{36}\b", "npm token", "secret.token"),
        _provider(
            "pypi", r"\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_\-]{50,}", "PyPI token", "secret.token"
        ),
        _provider("digitalocean", r"\bdo[por]_v1_[a-f0-9]{64}\b", "DigitalOcean token"),
        _provider("scaleway", r"\bSCW[A-Z0-9]{17}\b", "Scaleway access key"),
        _provider(
            "hashicorp", r"\bhvs\.[A-Za-z0-9_\-]{24,}", "HashiCorp Vault token", "secret.token"
        ),
        PatternSpec(
            id="secret.keyed_high_entropy",
            category="secret.api_key",
            prefilter=r"(?i)(?:secret|token|api[_\-]?key|apikey|access[_\-]?key|private[_\-]?key"
            r"|auth[_\-]?key|credential|session[_\-]?id|signature)",
            regex=r"(?i)" + _KEYED_NAMES + r"[\"']?\s{0,3}(?:=>|:=|[:=])\s{0,3}[\"']?"
            r"([A-Za-z0-9+/=_\-.~]{16,})",
            group=1,
            score=0.85,
            validator=high_entropy_valid,
            priority=91,
            explanation="pattern: value under a secret-like key; validator: entropy >= 3 bits/char",
        ),
    )


def secrets_recognizer() -> PatternRecognizer:
    return PatternRecognizer("secrets", specs())
