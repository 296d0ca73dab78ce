"""Built-in media plugins: where photos come from and how they are read.

Each module is a plugin of the host (listed in ``huisou.core.plugins.DEFAULT_PLUGINS``), with
module-level ``@hookimpl`` functions and no heavy import at module level:

- :mod:`.folder`: the ``folder`` source (stat-only walk, excludes, symlink loops);
- :mod:`.android`: the ``android`` source (Termux shared storage, MediaProvider's rules);
- :mod:`.decode`: the Pillow ``load_image`` decoder (``trylast``), content-sniffed;
- :mod:`.exif`: the EXIF metadata extractor (exifread, Pillow fallback).

:mod:`.sniff` is a helper, not a plugin: magic-byte recognition shared by the decoder and
``huisou info``.
"""
