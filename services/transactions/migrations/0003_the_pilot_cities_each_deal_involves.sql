-- migration: the pilot cities each deal involves
-- A city system sees a deal whose listing or any party is of its city (docs/deals.md): the
-- listing's city and the parties' cities, set once when the deal opens (a party's city is the
-- one it had then). Deals saved before are filled in from their records.
ALTER TABLE deals ADD COLUMN city_ids text[] NOT NULL DEFAULT '{}';

-- Field `wanted` (length-delimited) of a serialized protobuf message, or NULL.
CREATE FUNCTION techtrade_pb_field(msg bytea, wanted int) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE STRICT AS $fn$
DECLARE
  pos int := 0;
  n int := length(msg);
  b int;
  shift int;
  key bigint;
  len bigint;
BEGIN
  WHILE pos < n LOOP
    key := 0;
    shift := 0;
    LOOP
      IF pos >= n OR shift > 56 THEN RETURN NULL; END IF;
      b := get_byte(msg, pos);
      pos := pos + 1;
      key := key | ((b & 127)::bigint << shift);
      shift := shift + 7;
      EXIT WHEN b < 128;
    END LOOP;
    CASE key & 7
      WHEN 0 THEN
        LOOP
          IF pos >= n THEN RETURN NULL; END IF;
          b := get_byte(msg, pos);
          pos := pos + 1;
          EXIT WHEN b < 128;
        END LOOP;
      WHEN 1 THEN pos := pos + 8;
      WHEN 5 THEN pos := pos + 4;
      WHEN 2 THEN
        len := 0;
        shift := 0;
        LOOP
          IF pos >= n OR shift > 56 THEN RETURN NULL; END IF;
          b := get_byte(msg, pos);
          pos := pos + 1;
          len := len | ((b & 127)::bigint << shift);
          shift := shift + 7;
          EXIT WHEN b < 128;
        END LOOP;
        IF pos + len > n THEN RETURN NULL; END IF;
        IF key >> 3 = wanted THEN RETURN substring(msg FROM pos + 1 FOR len::int); END IF;
        pos := pos + len::int;
      ELSE RETURN NULL;
    END CASE;
  END LOOP;
  RETURN NULL;
END $fn$;

-- Deal fields 5, 6, 7: buyer, seller, broker; Party field 4: city_id.
UPDATE deals SET city_ids = ARRAY(
  SELECT DISTINCT c FROM unnest(ARRAY[
    city_id,
    convert_from(techtrade_pb_field(techtrade_pb_field(record, 5), 4), 'UTF8'),
    convert_from(techtrade_pb_field(techtrade_pb_field(record, 6), 4), 'UTF8'),
    convert_from(techtrade_pb_field(techtrade_pb_field(record, 7), 4), 'UTF8')]) AS c
  WHERE c IS NOT NULL AND c <> '' ORDER BY c);
DROP FUNCTION techtrade_pb_field(bytea, int);
CREATE INDEX deals_cities ON deals USING gin (city_ids);
