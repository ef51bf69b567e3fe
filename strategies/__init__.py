"""The rotation models: pure functions of a point-in-time panel -> industry scores and weights.

Use :func:`strategies.registry.run` to run a model by name at a date.
"""
