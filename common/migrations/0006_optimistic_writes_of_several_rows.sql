-- migration: optimistic writes of several rows
-- The same for a statement that changes several rows at once (group commit merges concurrent
-- callers' guarded writes into one): fails unless every row it was given changed.
CREATE FUNCTION techtrade_expect_rows(changed bigint, expected bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  IF changed <> expected THEN
    RAISE EXCEPTION 'a row changed since it was read' USING ERRCODE = 'serialization_failure';
  END IF;
END
$$;
