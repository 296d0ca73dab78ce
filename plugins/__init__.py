"""Built-in plugins. Each sub-package is an ordinary plugin of the host."""
