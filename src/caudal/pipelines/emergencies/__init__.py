"""112 emergency calls routed by SQL statements (ksqlDB style), medical calls enriched."""
