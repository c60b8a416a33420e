"""The verbs: what readers, commenters and staff do, each a transaction over the store."""
