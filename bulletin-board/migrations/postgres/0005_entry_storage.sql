-- Entry bytes are stored without TOAST compression: most of a ballot entry is hex of
-- random-looking points, and compressing it costs the server CPU on every append.
ALTER TABLE entries ALTER COLUMN data SET STORAGE EXTERNAL;
