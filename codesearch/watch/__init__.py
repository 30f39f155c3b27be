"""Watching: file events, debounced, into engine updates."""
