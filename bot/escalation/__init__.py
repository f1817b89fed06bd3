"""Cases, moderator pings, claim / relay / resolve, the escalation ladder and the outbox."""
