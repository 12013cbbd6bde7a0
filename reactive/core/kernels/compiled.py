"""Whether the numba kernels are already compiled for this machine (numba's on-disk cache).

A start only says "the first run compiles the kernels: up to a minute" when it will: the
kernels are ``@njit(cache=True)``, and numba keeps an index per kernel of the compiled
versions (per signature and CPU) next to the module or in its user-wide cache folder. The
index is read with numba's own cache classes, which also drop an index whose source file
changed since; they are internal, so any surprise counts as "not compiled" (the note shows).
"""

from __future__ import annotations

import logging

from reactive.core.kernels import eyes, warp

log = logging.getLogger(__name__)

# The modules whose kernels the player calls from Python (inlined helpers have no index of
# their own).
KERNEL_MODULES = (warp, eyes)


def kernels_compiled() -> bool:
    """True when every kernel of KERNEL_MODULES has a cached compilation for this CPU."""
    try:
        for module in KERNEL_MODULES:
            for value in vars(module).values():
                options = getattr(value, "targetoptions", None)
                if options is None or options.get("inline") == "always":
                    continue
                cache = getattr(value, "_cache", None)
                if cache is None or not hasattr(cache, "_cache_file"):
                    return False
                magic = value.targetctx.codegen().magic_tuple()
                index = cache._cache_file._load_index()
                if not any(key[1] == magic for key in index):
                    return False
        return True
    except Exception as exc:  # noqa: BLE001 - numba internals: unknown means "may compile"
        log.debug("cannot tell whether the kernels are compiled: %r", exc)
        return False
