"""Notifications: in-app messages (站内消息) and subscribe-message consents. The function
other domains call is `app.notify.notify`."""
