"""Request and response models of the data routers (detect, vault, cards, audit).

Requests refuse unknown keys (``extra="forbid"``) and bound every length; responses are
declared on each route so the OpenAPI schema describes every answer. No model holds a field
that would echo a card number, a CVV or a secret back to the caller.
"""
