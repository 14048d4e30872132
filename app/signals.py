"""Cross-domain hooks (blinker signals). A domain connects its handler; the sender does not
know who listens.

user_disabled(user, actor=..., reason=...): sent inside the transaction that disables a
user (roster import or an administrator). Later domains connect here to cancel the
user's future orders, in the same transaction.
"""

from blinker import Namespace

_signals = Namespace()

user_disabled = _signals.signal("user-disabled")
