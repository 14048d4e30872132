"""QR passes: the one scanning endpoint (app/qrpass.py does the work)."""
