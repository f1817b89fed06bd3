"""Helpline data: schema, validation, the live directory, region resolution and rendering."""
