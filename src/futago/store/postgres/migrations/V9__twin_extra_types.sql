-- The twins of multi-typed NGSI-LD entities: their further types (after the one their model stands for) are kept
-- in the "$ngsild" record's "types". Few twins have any, so a partial index of them lets a type query find them
-- without reading the others.
CREATE INDEX IF NOT EXISTS twins_with_extra_types ON twins (id)
    WHERE (properties -> '$ngsild' -> 'types') IS NOT NULL;
