"""Reactive portraits: bring a still portrait to life on a plain CPU.

Photo -> rig (once) -> frames (per frame), after "Bringing Portraits to Life"
(Averbuch-Elor et al., SIGGRAPH Asia 2017).
"""

__version__ = "0.1.0"
