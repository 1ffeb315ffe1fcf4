-- tools/bench/e2e's "rows100" workload (pgbench -f): 100 rows of the lab's
-- customers table (tools/lab-seed.sql: ids 1..5000, each row an e-mail
-- address, a card number, an SSN, a phone number and an IBAN; one note in
-- ten a card number and an address in free text), about 22 KB of DataRows
-- a statement. Under the demo policy every row is masked.
\set id random(1, 4901)
SELECT * FROM customers WHERE id BETWEEN :id AND :id + 99;
