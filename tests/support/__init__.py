"""What the tests share besides fixtures: the real CLI, a browser, a PostgreSQL cluster,
reference computations. Imported as ``tests.support.<module>``."""
