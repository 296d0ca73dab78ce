"""huisou (慧搜): offline natural-language photo search as a plugin-based framework.

Plugins import only what they need from here: ``from huisou import hookimpl`` and the
interfaces in :mod:`huisou.core.interfaces`. This module stays import-light so that
``huisou --help`` never pays for numpy, Pillow or ONNX Runtime.
"""

import os

from huisou.core.hookspecs import hookimpl

# ONNX Runtime (1.2x, Linux) writes a device id and a telemetry database under
# ~/.cache/Microsoft/DeveloperTools/.onnxruntime as soon as it is imported, unless this is set.
# huisou is offline and private, so it opts out before any plugin can import onnxruntime
# (a user who wants telemetry can set ORT_DISABLE_TELEMETRY=0).
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

__version__ = "0.1.0"
__all__ = ["hookimpl", "__version__"]
