"""Notifications: in-app messages, the WeChat subscribe-message outbox, consents."""
