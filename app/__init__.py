"""app: the composition root. The ``allocator`` command (:mod:`app.cli`) and the scheduler
(:mod:`app.scheduler`, ``allocator serve``) are the only places that wire the floors together:
core (``allocator``) -> ``strategies`` -> ``engine`` -> ``paper`` -> ``reports`` -> ``app``."""
