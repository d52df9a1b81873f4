"""dataward: turns a privacy agreement into running code.

The public API is what ``__all__`` lists; everything else is internal and may change.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from dataward.errors import (
    AccessDeniedError,
    AuditError,
    AuditIntegrityError,
    AuditSchemaError,
    AuthenticationError,
    BinaryInputError,
    CardDataError,
    CardValidationError,
    CiphertextError,
    ConfigurationError,
    DatawardError,
    DetectionError,
    ForbiddenDataError,
    IdempotencyConflictError,
    InputError,
    KeyStoreError,
    NotFoundError,
    PayloadTooLargeError,
    PolicyDeniedError,
    PolicyError,
    PolicyFileError,
    ProcessorError,
    ProcessorUnavailableError,
    RateLimitedError,
    StorageError,
    UnknownCategoryError,
)

if TYPE_CHECKING:  # what the names below resolve to, for type checkers and IDEs
    from dataward.audit import (
        AuditEntry,
        AuditLog,
        Checkpoint,
        ConsistencyProof,
        InclusionProof,
        VerifyResult,
        export_log,
        verify_offline,
    )
    from dataward.cards import (
        CardIntake,
        CardProcessor,
        CardRef,
        HttpCardProcessor,
        processor_from_env,
        processor_from_url,
        validate_card,
    )
    from dataward.db import create_engine_for
    from dataward.db import upgrade as upgrade_database
    from dataward.detect import (
        Detector,
        Finding,
        Recognizer,
        classify_columns,
        detect_record,
        redact,
    )
    from dataward.logging import RedactingFilter
    from dataward.policy import (
        Decision,
        LintFinding,
        Obligation,
        Policy,
        PolicyMetadata,
        Processor,
        Retention,
        diff_policies,
        lint_policy,
        load_policy,
        run_policy_tests,
    )
    from dataward.service.apikeys import ApiKey, ApiKeyStore
    from dataward.service.app import create_app
    from dataward.service.config import ServiceConfig, load_service_config
    from dataward.service.context import ServiceContext
    from dataward.settings import Settings, load_settings
    from dataward.taxonomy import Action, Category, DataClass, Taxonomy, class_of, default_taxonomy
    from dataward.vault import (
        Actor,
        EnvKeyStore,
        FieldInfo,
        FieldValue,
        FileKeyStore,
        KeyStore,
        LifecycleReport,
        Vault,
        keystore_from_settings,
        run_lifecycle,
    )

__version__ = "0.1.0"

#: Public name -> (module, attribute): imported on first use (PEP 562), so that `import
#: dataward` or one of its command-line verbs does not load the HTTP stack, SQLAlchemy or
#: the detector unless asked for.
_LAZY: dict[str, tuple[str, str]] = {
    "Action": ("dataward.taxonomy", "Action"),
    "Actor": ("dataward.vault", "Actor"),
    "ApiKey": ("dataward.service.apikeys", "ApiKey"),
    "ApiKeyStore": ("dataward.service.apikeys", "ApiKeyStore"),
    "AuditEntry": ("dataward.audit", "AuditEntry"),
    "AuditLog": ("dataward.audit", "AuditLog"),
    "CardIntake": ("dataward.cards", "CardIntake"),
    "CardProcessor": ("dataward.cards", "CardProcessor"),
    "CardRef": ("dataward.cards", "CardRef"),
    "Category": ("dataward.taxonomy", "Category"),
    "Checkpoint": ("dataward.audit", "Checkpoint"),
    "ConsistencyProof": ("dataward.audit", "ConsistencyProof"),
    "DataClass": ("dataward.taxonomy", "DataClass"),
    "Decision": ("dataward.policy", "Decision"),
    "Detector": ("dataward.detect", "Detector"),
    "EnvKeyStore": ("dataward.vault", "EnvKeyStore"),
    "FieldInfo": ("dataward.vault", "FieldInfo"),
    "FieldValue": ("dataward.vault", "FieldValue"),
    "FileKeyStore": ("dataward.vault", "FileKeyStore"),
    "Finding": ("dataward.detect", "Finding"),
    "HttpCardProcessor": ("dataward.cards", "HttpCardProcessor"),
    "InclusionProof": ("dataward.audit", "InclusionProof"),
    "KeyStore": ("dataward.vault", "KeyStore"),
    "LifecycleReport": ("dataward.vault", "LifecycleReport"),
    "LintFinding": ("dataward.policy", "LintFinding"),
    "Obligation": ("dataward.policy", "Obligation"),
    "Policy": ("dataward.policy", "Policy"),
    "PolicyMetadata": ("dataward.policy", "PolicyMetadata"),
    "Processor": ("dataward.policy", "Processor"),
    "Recognizer": ("dataward.detect", "Recognizer"),
    "RedactingFilter": ("dataward.logging", "RedactingFilter"),
    "Retention": ("dataward.policy", "Retention"),
    "ServiceConfig": ("dataward.service.config", "ServiceConfig"),
    "ServiceContext": ("dataward.service.context", "ServiceContext"),
    "Settings": ("dataward.settings", "Settings"),
    "Taxonomy": ("dataward.taxonomy", "Taxonomy"),
    "Vault": ("dataward.vault", "Vault"),
    "VerifyResult": ("dataward.audit", "VerifyResult"),
    "class_of": ("dataward.taxonomy", "class_of"),
    "classify_columns": ("dataward.detect", "classify_columns"),
    "create_app": ("dataward.service.app", "create_app"),
    "create_engine_for": ("dataward.db", "create_engine_for"),
    "default_taxonomy": ("dataward.taxonomy", "default_taxonomy"),
    "detect_record": ("dataward.detect", "detect_record"),
    "diff_policies": ("dataward.policy", "diff_policies"),
    "export_log": ("dataward.audit", "export_log"),
    "keystore_from_settings": ("dataward.vault", "keystore_from_settings"),
    "lint_policy": ("dataward.policy", "lint_policy"),
    "load_policy": ("dataward.policy", "load_policy"),
    "load_service_config": ("dataward.service.config", "load_service_config"),
    "load_settings": ("dataward.settings", "load_settings"),
    "processor_from_env": ("dataward.cards", "processor_from_env"),
    "processor_from_url": ("dataward.cards", "processor_from_url"),
    "redact": ("dataward.detect", "redact"),
    "run_lifecycle": ("dataward.vault", "run_lifecycle"),
    "run_policy_tests": ("dataward.policy", "run_policy_tests"),
    "upgrade_database": ("dataward.db", "upgrade"),
    "validate_card": ("dataward.cards", "validate_card"),
    "verify_offline": ("dataward.audit", "verify_offline"),
}

__all__ = [
    "AccessDeniedError",
    "Action",
    "Actor",
    "ApiKey",
    "ApiKeyStore",
    "AuditEntry",
    "AuditError",
    "AuditIntegrityError",
    "AuditLog",
    "AuditSchemaError",
    "AuthenticationError",
    "BinaryInputError",
    "CardDataError",
    "CardIntake",
    "CardProcessor",
    "CardRef",
    "CardValidationError",
    "Category",
    "Checkpoint",
    "CiphertextError",
    "ConfigurationError",
    "ConsistencyProof",
    "DataClass",
    "DatawardError",
    "Decision",
    "DetectionError",
    "Detector",
    "EnvKeyStore",
    "FieldInfo",
    "FieldValue",
    "FileKeyStore",
    "Finding",
    "ForbiddenDataError",
    "HttpCardProcessor",
    "IdempotencyConflictError",
    "InclusionProof",
    "InputError",
    "KeyStore",
    "KeyStoreError",
    "LifecycleReport",
    "LintFinding",
    "NotFoundError",
    "Obligation",
    "PayloadTooLargeError",
    "Policy",
    "PolicyDeniedError",
    "PolicyError",
    "PolicyFileError",
    "PolicyMetadata",
    "Processor",
    "ProcessorError",
    "ProcessorUnavailableError",
    "RateLimitedError",
    "Recognizer",
    "RedactingFilter",
    "Retention",
    "ServiceConfig",
    "ServiceContext",
    "Settings",
    "StorageError",
    "Taxonomy",
    "UnknownCategoryError",
    "Vault",
    "VerifyResult",
    "__version__",
    "class_of",
    "classify_columns",
    "create_app",
    "create_engine_for",
    "default_taxonomy",
    "detect_record",
    "diff_policies",
    "export_log",
    "keystore_from_settings",
    "lint_policy",
    "load_policy",
    "load_service_config",
    "load_settings",
    "processor_from_env",
    "processor_from_url",
    "redact",
    "run_lifecycle",
    "run_policy_tests",
    "upgrade_database",
    "validate_card",
    "verify_offline",
]


def __getattr__(name: str) -> Any:
    try:
        module, attribute = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'dataward' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
