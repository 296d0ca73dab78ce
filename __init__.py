"""huisou (慧搜): offline natural-language photo search as a plugin-based framework.

Plugins import only what they need from here: ``from huisou import hookimpl`` and the
interfaces in :mod:`huisou.core.interfaces`. This module stays import-light so that
``huisou --help`` never pays for numpy, Pillow or ONNX Runtime.
"""

from huisou.core.hookspecs import hookimpl

__version__ = "0.1.0"
__all__ = ["hookimpl", "__version__"]
