"""``dataward-processor``: the reference card processor (a stand-in for an outside system).

A small FastAPI app in its own process: it tokenizes cards (random tokens from :mod:`secrets`,
unlinkable to the number), charges, refunds and deletes tokens, over TLS with a bearer API key and
idempotency keys, in its own SQLite store (card numbers encrypted there with its own key; CVV never
stored). dataward reaches it only through :class:`dataward.cards.HttpCardProcessor`.
"""

from __future__ import annotations

from dataward.processor_service.app import DEFAULT_CHARGE_LIMIT, create_app
from dataward.processor_service.store import ProcessorStore, load_or_create_store_key

__all__ = ["DEFAULT_CHARGE_LIMIT", "ProcessorStore", "create_app", "load_or_create_store_key"]
