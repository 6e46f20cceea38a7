"""The ``previ`` command line, the top floor: it imports every layer, and no layer imports it."""
