"""Side effects: mail, blob store, roll-up, upward forwarding."""
