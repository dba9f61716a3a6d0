-- migration: optimistic writes
-- `WITH changed AS (UPDATE … WHERE id = … AND version = <as read> RETURNING 1)
--  SELECT techtrade_expect_one_row(count(*)) FROM changed` fails the transaction with a
-- serialization failure if the row changed since it was read; InTransaction then runs the unit
-- again from its read.
CREATE FUNCTION techtrade_expect_one_row(n bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF n <> 1 THEN
    RAISE EXCEPTION 'the row changed since it was read' USING ERRCODE = 'serialization_failure';
  END IF;
END
$$;
