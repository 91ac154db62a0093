-- Each twin's GeoJSON geometry as a PostGIS geometry (WGS 84), so the GIST index answers bounding-box scans.
-- Repeatable: re-applied whenever this file changes.
CREATE OR REPLACE FUNCTION futago_twin_geom() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.geom := CASE WHEN NEW.geometry IS NULL THEN NULL
                     ELSE ST_SetSRID(ST_GeomFromGeoJSON(NEW.geometry), 4326) END;
    RETURN NEW;
END;
$$;
DROP TRIGGER IF EXISTS twins_geom ON twins;
CREATE TRIGGER twins_geom BEFORE INSERT OR UPDATE OF geometry ON twins
    FOR EACH ROW EXECUTE FUNCTION futago_twin_geom();
