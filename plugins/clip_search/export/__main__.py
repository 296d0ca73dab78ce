"""``python -m huisou.plugins.clip_search.export --arch ... --pretrained ... --out ...``."""

import sys

from . import main

sys.exit(main())
