"""Offline, once per driving clip: video -> clip pack (tracks and, later, ratio images)."""
