"""One widget per module; reusable widgets carry their own ``DEFAULT_CSS``."""
