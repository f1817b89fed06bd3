"""Running Signpost for a community: metrics, health, reports, follow-ups."""
