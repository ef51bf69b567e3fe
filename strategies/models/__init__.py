"""The rotation models. Importing this package registers every model with the registry.

The registry lists models in registration order, which every listing, the demo and its first
paper book follow: the prosperity-trend-crowding family first (the product's headline models),
then the others alphabetically. A new model module needs no entry here; it registers after these.
"""

import importlib
import pkgutil

_FIRST = ("ptc",)

for _name in (*_FIRST, *sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name not in _FIRST)):
    importlib.import_module(f"{__name__}.{_name}")
