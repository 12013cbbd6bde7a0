"""python demo.py [PHOTO] [--clips DIR] [--kiosk] [--headless --duration S --record OUT.mp4]

The reactive portrait: the photo idles and reacts to keys, clicks and sounds. A thin
wrapper around ``reactive.live.app`` (``python demo.py --help`` lists everything).
"""

from __future__ import annotations

import sys

if __name__ == "__main__":
    from reactive.live.app import main

    sys.exit(main())
