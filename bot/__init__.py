"""Signpost: a crisis-signposting chat bot."""
