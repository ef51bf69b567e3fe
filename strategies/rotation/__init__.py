"""Relative rotation of any set of sector series against a benchmark (docs/strategies.md section
6), market-agnostic: plain frames and arrays in, no market panel.

- :mod:`strategies.rotation.detector`: the daily series (RS ratio and momentum, flow, member
  breadth) and :func:`~strategies.rotation.detector.detect_rotation`, the entry point.
- :mod:`strategies.rotation.readout`: the series read at the as-of date (normalised RS,
  composite, allocation, rule confidence and status, trail).
- :mod:`strategies.rotation.params`: the parameter defaults and the rule table.
- :mod:`strategies.rotation.results`: the result types, the quadrant rule and the labels.

The SW industry model on a market panel (``rotation_detector``) is
:mod:`strategies.models.rotation`.
"""
