"""The HTTP service: a thin FastAPI face on the library (ARCHITECTURE.md, layer ``service``)."""
