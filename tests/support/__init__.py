"""Helpers shared by several test packages (live servers, worker processes, WeChat apps,
admin panel sign-in)."""
