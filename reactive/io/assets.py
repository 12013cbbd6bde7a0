"""Where the project's shipped files are: the bundled sample portrait and the built-in clips
(``assets/`` beside the packages; the built-in clips are made by ``python -m precompute
synth``)."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ASSETS_DIR = PROJECT_ROOT / "assets"
BUILTIN_CLIPS_DIR = ASSETS_DIR / "clips"
# scikit-image's public-domain ``astronaut``.
SAMPLE_PORTRAIT = ASSETS_DIR / "sample_portrait.jpg"
