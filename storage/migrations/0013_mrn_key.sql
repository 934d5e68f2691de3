-- patient_mrn_key follows the one table of characters OCR reads for digits
-- (package chart: DigitFor, MRN.Key; chart.KeySQL builds this body and a
-- test in package patients holds the two to each other): D, Q read for 0,
-- L for 1, G for 6 and $ for 5 join the table.
CREATE OR REPLACE FUNCTION patient_mrn_key(mrn text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN ltrim(translate(mrn, '$BDGILOQSZabcdefghijklmnopqrstuvwxyz| -./', '5806110052A8C0EF6H1JK1MN0P0R5TUVWXY21'), '0');

REINDEX INDEX patients_mrn_key;
