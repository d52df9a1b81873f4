"""The ``dataward`` command: a thin face on the library; every verb calls it."""
