"""dataward: turns a privacy agreement into running code.

The public API is what ``__all__`` lists; everything else is internal and may change.
"""

from __future__ import annotations

from dataward.errors import (
    AuditError,
    AuditIntegrityError,
    AuditSchemaError,
    BinaryInputError,
    CardDataError,
    CardValidationError,
    ConfigurationError,
    DatawardError,
    DetectionError,
    ForbiddenDataError,
    InputError,
    KeyStoreError,
    NotFoundError,
    PolicyDeniedError,
    PolicyError,
    PolicyFileError,
    ProcessorError,
    StorageError,
    UnknownCategoryError,
)
from dataward.settings import Settings, load_settings
from dataward.taxonomy import Action, Category, DataClass, Taxonomy, class_of, default_taxonomy

__version__ = "0.1.0"

__all__ = [
    "Action",
    "AuditError",
    "AuditIntegrityError",
    "AuditSchemaError",
    "BinaryInputError",
    "CardDataError",
    "CardValidationError",
    "Category",
    "ConfigurationError",
    "DataClass",
    "DatawardError",
    "DetectionError",
    "ForbiddenDataError",
    "InputError",
    "KeyStoreError",
    "NotFoundError",
    "PolicyDeniedError",
    "PolicyError",
    "PolicyFileError",
    "ProcessorError",
    "Settings",
    "StorageError",
    "Taxonomy",
    "UnknownCategoryError",
    "__version__",
    "class_of",
    "default_taxonomy",
    "load_settings",
]
