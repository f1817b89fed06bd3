"""Platform adapters: each only translates between a platform and the core."""
