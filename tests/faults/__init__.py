"""Fault injection: broken inputs and faults, each ending cleanly (issue 13)."""
