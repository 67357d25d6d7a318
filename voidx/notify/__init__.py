"""Alert delivery (a later issue): outbox and channels."""
