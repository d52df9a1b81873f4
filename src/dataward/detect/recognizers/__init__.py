"""Built-in recognizers. They are listed in one place: :mod:`dataward.detect.registry`."""
