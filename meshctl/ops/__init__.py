"""Use cases: they return results and emit events; they never print, prompt or exit."""
