-- Routing of 112 calls, one stream per output topic (ksqlDB style; the SELECT is Spark SQL).
-- `avisos` holds every valid input call; see docs/emergencies.md for its columns.
-- A call must match exactly one stream: `caudal emergencies check` proves it did.
-- Calls that match none go to the dead-letter topic with the reason "matched no route".

-- Urgent calls that need a doctor: enriched with the nearest hospital, to Sanitarios 112.
CREATE STREAM sanitarios WITH (kafka_topic='emergencias.sanitarios') AS
  SELECT *, nearest_hospital(lat, lon) AS destino
  FROM avisos
  WHERE urgencia IN ('alta', 'critica') AND necesita_medico;

-- Other urgent calls: to the command centre.
CREATE STREAM centro_mando WITH (kafka_topic='emergencias.centro_mando') AS
  SELECT * FROM avisos WHERE urgencia IN ('alta', 'critica') AND NOT necesita_medico;

-- Non-urgent calls: to the area of the service in charge.
CREATE STREAM area_bomberos WITH (kafka_topic='emergencias.area.bomberos') AS
  SELECT * FROM avisos WHERE urgencia IN ('baja', 'media') AND servicio = 'bomberos';

CREATE STREAM area_policia_local WITH (kafka_topic='emergencias.area.policia_local') AS
  SELECT * FROM avisos WHERE urgencia IN ('baja', 'media') AND servicio = 'policia_local';

CREATE STREAM area_policia_nacional WITH (kafka_topic='emergencias.area.policia_nacional') AS
  SELECT * FROM avisos WHERE urgencia IN ('baja', 'media') AND servicio = 'policia_nacional';

CREATE STREAM area_guardia_civil WITH (kafka_topic='emergencias.area.guardia_civil') AS
  SELECT * FROM avisos WHERE urgencia IN ('baja', 'media') AND servicio = 'guardia_civil';

CREATE STREAM area_sanitarios WITH (kafka_topic='emergencias.area.sanitarios') AS
  SELECT * FROM avisos WHERE urgencia IN ('baja', 'media') AND servicio = 'sanitarios';

CREATE STREAM area_proteccion_civil WITH (kafka_topic='emergencias.area.proteccion_civil') AS
  SELECT * FROM avisos WHERE urgencia IN ('baja', 'media') AND servicio = 'proteccion_civil';
