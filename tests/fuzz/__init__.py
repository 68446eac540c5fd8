"""Hostile input for the HTTP API: generated requests over every route, and the regressions they found."""
