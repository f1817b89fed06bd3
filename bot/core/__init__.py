"""The dialogue core: platform-independent messages, state and policy."""
