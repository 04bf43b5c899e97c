"""An embedded schema registry speaking the Confluent Schema Registry REST subset clients use.

``CAUDAL_SCHEMA_REGISTRY_URL`` points at a real one (Confluent, Apicurio, Karapace); unset, a
process that needs a registry serves the on-disk store under the data dir itself
(``caudal.registry.embedded.registry_url``), so schema ids stay the same across restarts.
"""
