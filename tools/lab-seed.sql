-- tools/lab-seed.sql — the lab's demo data set, loaded by `tools/lab up`.
--
-- Run as role demo into database demo:
--   psql -v ON_ERROR_STOP=1 -h SOCKDIR -U demo -d demo -f tools/lab-seed.sql
--
-- Everything is derived from the row id through md5(), never from random(),
-- so every run of the lab holds byte-identical data and tests may rely on
-- exact values. The sensitive-looking fields are synthetic but *valid* in
-- the way a detector checks them, so that masking rules that confirm a match
-- (Luhn for card numbers, ISO 13616 mod-97 for IBANs) have real positives:
--   card_number  Visa (4, 16 digits), Mastercard (51-55, 16), Amex (37, 15),
--                Luhn check digit computed here
--   iban         DE (22 chars), GB (22), FR (27, with a valid RIB key);
--                check digits computed with mod-97 over the digit string
--   ssn          AAA-GG-SSSS, never area 000/666/9xx, group 00, serial 0000
--   phone        +1-555-XXX-XXXX
--   email        @example.com/.org/.net only (RFC 2606)
--   notes        10 % carry the customer's card number (grouped by spaces or
--                dashes, or ungrouped) and an email address inside free text;
--                2 % carry an IBAN; the rest are plain text
-- The self-checks at the end abort the seed (and so `tools/lab up`) if any
-- of that does not hold.
--
-- Helper functions live in schema `lab` and stay installed: tests may use
-- lab.luhn_valid(text) and lab.iban_valid(text).

\set ON_ERROR_STOP on
set client_min_messages = warning;

begin;

create schema lab;

-- 60 bits of md5(tag:id) as a non-negative bigint.
create function lab.h(tag text, id bigint) returns bigint
language sql immutable strict parallel safe as $$
	select ('x' || substr(md5(tag || ':' || id), 1, 15))::bit(60)::bigint
$$;

-- n (1..15) pseudo-random decimal digits for (tag, id).
create function lab.digits(tag text, id bigint, n int) returns text
language sql immutable strict parallel safe as $$
	select lpad((lab.h(tag, id) % (10::bigint ^ n)::bigint)::text, n, '0')
$$;

-- Luhn check digit for a payload of decimal digits (the digit that, appended
-- on the right, makes the whole number pass).
create function lab.luhn_check_digit(payload text) returns int
language plpgsql immutable strict parallel safe as $$
declare
	s int := 0;
	d int;
	dbl boolean := true;	-- rightmost payload digit is doubled
begin
	if payload !~ '^[0-9]+$' then
		raise exception 'lab.luhn_check_digit: not a digit string: %', payload;
	end if;
	for i in reverse length(payload)..1 loop
		d := ascii(substr(payload, i, 1)) - 48;
		if dbl then
			d := d * 2;
			if d > 9 then
				d := d - 9;
			end if;
		end if;
		s := s + d;
		dbl := not dbl;
	end loop;
	return (10 - s % 10) % 10;
end
$$;

-- Luhn validity of a card number; spaces and dashes are ignored.
create function lab.luhn_valid(num text) returns boolean
language plpgsql immutable strict parallel safe as $$
declare
	d text := regexp_replace(num, '[ -]', '', 'g');
begin
	if d !~ '^[0-9]{12,19}$' then
		return false;
	end if;
	return lab.luhn_check_digit(left(d, -1)) = right(d, 1)::int;
end
$$;

-- Remainder mod 97 of an arbitrarily long decimal digit string, computed in
-- chunks of 7 digits so the intermediate (remainder * 10^7 + chunk) always
-- fits a bigint (ISO 7064 MOD 97-10, as ISO 13616 uses it).
create function lab.mod97(digits text) returns int
language plpgsql immutable strict parallel safe as $$
declare
	r bigint := 0;
	chunk text;
	i int := 1;
begin
	if digits !~ '^[0-9]+$' then
		raise exception 'lab.mod97: not a digit string: %', digits;
	end if;
	while i <= length(digits) loop
		chunk := substr(digits, i, 7);
		r := (r * (10::bigint ^ length(chunk))::bigint + chunk::bigint) % 97;
		i := i + 7;
	end loop;
	return r;
end
$$;

-- ISO 13616 letter expansion: A=10 ... Z=35, digits stay.
create function lab.iban_digits(s text) returns text
language plpgsql immutable strict parallel safe as $$
declare
	out text := '';
	c text;
begin
	foreach c in array regexp_split_to_array(s, '') loop
		if c between '0' and '9' then
			out := out || c;
		elsif c between 'A' and 'Z' then
			out := out || (ascii(c) - 55)::text;
		else
			raise exception 'lab.iban_digits: bad character % in %', c, s;
		end if;
	end loop;
	return out;
end
$$;

-- IBAN from country code and BBAN: check digits = 98 - (BBAN CC 00 mod 97).
create function lab.iban_make(cc text, bban text) returns text
language sql immutable strict parallel safe as $$
	select cc
	    || lpad((98 - lab.mod97(lab.iban_digits(bban || cc || '00')))::text, 2, '0')
	    || bban
$$;

-- IBAN validity (structure and mod-97 = 1); spaces ignored, case-insensitive.
create function lab.iban_valid(iban text) returns boolean
language plpgsql immutable strict parallel safe as $$
declare
	s text := upper(replace(iban, ' ', ''));
begin
	if s !~ '^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$' then
		return false;
	end if;
	return lab.mod97(lab.iban_digits(substr(s, 5) || left(s, 4))) = 1;
end
$$;

-- French RIB key: 97 - ((89 bank + 15 branch + 3 account) mod 97), numeric
-- account numbers only (the ones generated here).
create function lab.rib_key(bank text, branch text, account text) returns text
language sql immutable strict parallel safe as $$
	select lpad((97 - (89 * bank::bigint + 15 * branch::bigint
	                   + 3 * account::bigint) % 97)::text, 2, '0')
$$;

-- Card number for customer id: 60 % Visa, 30 % Mastercard, 10 % Amex.
create function lab.card_for(id bigint) returns text
language plpgsql immutable strict parallel safe as $$
declare
	payload text;
begin
	case
	when id % 10 < 6 then
		payload := '4' || lab.digits('card', id, 14);
	when id % 10 < 9 then
		payload := '5' || (1 + lab.h('mc', id) % 5)::text || lab.digits('card', id, 13);
	else
		payload := '37' || lab.digits('card', id, 12);
	end case;
	return payload || lab.luhn_check_digit(payload)::text;
end
$$;

-- IBAN for customer id, cycling DE, GB, FR.
create function lab.iban_for(id bigint) returns text
language plpgsql immutable strict parallel safe as $$
declare
	gb_banks constant text[] := array['NWBK', 'BARC', 'LOYD', 'HBUK', 'MIDL'];
	bank text;
	branch text;
	account text;
begin
	case id % 3
	when 0 then	-- DE: 8-digit bank code, 10-digit account
		return lab.iban_make('DE', lab.digits('de-blz', id, 8) || lab.digits('de-acct', id, 10));
	when 1 then	-- GB: 4-letter bank, 6-digit sort code, 8-digit account
		return lab.iban_make('GB', gb_banks[1 + lab.h('gb-bank', id) % 5]
		    || lab.digits('gb-sort', id, 6) || lab.digits('gb-acct', id, 8));
	else		-- FR: 5-digit bank, 5-digit branch, 11-digit account, RIB key
		bank := lab.digits('fr-bank', id, 5);
		branch := lab.digits('fr-branch', id, 5);
		account := lab.digits('fr-acct', id, 11);
		return lab.iban_make('FR', bank || branch || account
		    || lab.rib_key(bank, branch, account));
	end case;
end
$$;

-- SSN-shaped value: area 001-899 without 666, group 01-99, serial 0001-9999.
create function lab.ssn_for(id bigint) returns text
language plpgsql immutable strict parallel safe as $$
declare
	area int := 1 + lab.h('ssn-a', id) % 898;	-- 1..898
begin
	if area >= 666 then
		area := area + 1;			-- skip 666, reach 899
	end if;
	return lpad(area::text, 3, '0') || '-'
	    || lpad((1 + lab.h('ssn-g', id) % 99)::text, 2, '0') || '-'
	    || lpad((1 + lab.h('ssn-s', id) % 9999)::text, 4, '0');
end
$$;

-- Digits in groups of four, separated by sep.
create function lab.group4(d text, sep text) returns text
language sql immutable strict parallel safe as $$
	select regexp_replace(d, '([0-9]{4})(?=[0-9])', '\1' || sep, 'g')
$$;

create table customers (
	id		integer primary key,
	name		text not null,
	email		text not null,
	card_number	text not null,
	ssn		text not null,
	phone		text not null,
	iban		text not null,
	notes		text not null
);

create table orders (
	id		integer primary key,
	customer_id	integer not null references customers (id),
	amount		numeric(10,2) not null,
	created_at	timestamptz not null
);

insert into customers (id, name, email, card_number, ssn, phone, iban, notes)
select id,
	first || ' ' || last,
	lower(first) || '.' || lower(last) || id || '@example.com',
	card,
	lab.ssn_for(id),
	'+1-555-' || lab.digits('ph-a', id, 3) || '-' || lab.digits('ph-b', id, 4),
	iban,
	case
	when id % 10 = 3 then
		case (id / 10) % 4
		when 0 then 'customer called about card ' || lab.group4(card, ' ')
		    || ', reach at ' || lower(first) || '@example.org'
		when 1 then 'Refund issued to ' || lab.group4(card, '-')
		    || '; confirmation sent to ' || lower(first) || '.' || lower(last)
		    || id || '@example.com'
		when 2 then 'Chargeback dispute on card ' || card || ' (contact '
		    || lower(left(first, 1)) || lower(last) || '@example.net)'
		else 'Updated billing: old card ' || lab.group4(card, ' ')
		    || ' replaced, new statements go to ' || lower(first) || '.'
		    || lower(last) || id || '@example.com'
		end
	when id % 50 = 7 then
		'Direct debit mandate signed for IBAN ' || regexp_replace(iban, '(.{4})(?=.)', '\1 ', 'g')
	else
		plain[1 + lab.h('note', id) % array_length(plain, 1)]
	end
from (
	select g as id,
		firsts[1 + lab.h('first', g) % array_length(firsts, 1)] as first,
		lasts[1 + lab.h('last', g) % array_length(lasts, 1)] as last,
		lab.card_for(g) as card,
		lab.iban_for(g) as iban,
		plain
	from generate_series(1, 5000) as g,
	(select
		array['Anna', 'Ben', 'Carla', 'David', 'Elena', 'Farid', 'Grace', 'Hugo',
		      'Ines', 'Jonas', 'Kate', 'Luis', 'Maria', 'Noah', 'Olga', 'Pedro',
		      'Quinn', 'Rosa', 'Samir', 'Tara', 'Umar', 'Vera', 'Wei', 'Ximena',
		      'Yusuf', 'Zoe', 'Amir', 'Bianca', 'Chen', 'Dana', 'Emil', 'Fatima',
		      'Gustav', 'Hana', 'Igor', 'Julia', 'Kenji', 'Lena', 'Mateo', 'Nadia']
		as firsts,
		array['Smith', 'Mueller', 'Garcia', 'Rossi', 'Dubois', 'Novak', 'Kowalski',
		      'Jansen', 'Silva', 'Nakamura', 'Okafor', 'Hansen', 'Ivanova', 'Lopez',
		      'Schmidt', 'Brown', 'Martin', 'Bernard', 'Weber', 'Fischer', 'Costa',
		      'Nielsen', 'Larsen', 'Moreau', 'Kim', 'Park', 'Singh', 'Patel', 'Ali',
		      'Haddad', 'Cohen', 'Murphy', 'Walsh', 'Berg', 'Lindqvist', 'Horvat',
		      'Popescu', 'Yilmaz', 'Tanaka', 'Chowdhury']
		as lasts,
		array['prefers email contact', 'VIP since 2019', 'asked about delivery times',
		      'moved to a new address last spring', 'no special requirements',
		      'wants paper invoices', 'requested a call back in the afternoon',
		      'long-time customer, very satisfied', 'interested in the annual plan',
		      'reported a late delivery, resolved', 'opted out of the newsletter',
		      'speaks German and English', '']
		as plain) as words
) as src;

insert into orders (id, customer_id, amount, created_at)
select g,
	1 + lab.h('oc', g) % 5000,
	(100 + lab.h('oa', g) % 99900) / 100.0,
	timestamptz '2024-01-01 00:00:00+00'
	    + make_interval(secs => g * 1571 + lab.h('ot', g) % 1500)
from generate_series(1, 20000) as g;

create index orders_customer_id_idx on orders (customer_id);

-- Self-checks: any failure aborts the transaction and the seed.
do $$
declare
	n bigint;
begin
	-- the check functions themselves, on published test vectors
	if not lab.luhn_valid('4111 1111 1111 1111') or lab.luhn_valid('4111111111111112')
	    or not lab.luhn_valid('378282246310005') or not lab.luhn_valid('5555-5555-5555-4444') then
		raise exception 'self-check: lab.luhn_valid fails its test vectors';
	end if;
	if not lab.iban_valid('GB82 WEST 1234 5698 7654 32')
	    or not lab.iban_valid('DE89370400440532013000')
	    or not lab.iban_valid('FR1420041010050500013M02606')
	    or lab.iban_valid('GB82WEST12345698765433')
	    or lab.iban_make('DE', '370400440532013000') <> 'DE89370400440532013000'
	    or lab.rib_key('20041', '01005', '05000134026') <> '06' then	-- M = 4
		raise exception 'self-check: IBAN functions fail their test vectors';
	end if;

	select count(*) into n from customers;
	if n <> 5000 then
		raise exception 'self-check: % customers, expected 5000', n;
	end if;
	select count(*) into n from orders;
	if n <> 20000 then
		raise exception 'self-check: % orders, expected 20000', n;
	end if;

	select count(*) into n from customers where not lab.luhn_valid(card_number)
	    or card_number !~ '^(4[0-9]{15}|5[1-5][0-9]{14}|37[0-9]{13})$';
	if n <> 0 then
		raise exception 'self-check: % card numbers fail Luhn or prefix/length', n;
	end if;

	select count(*) into n from customers where not lab.iban_valid(iban)
	    or iban !~ '^(DE[0-9]{20}|GB[0-9]{2}[A-Z]{4}[0-9]{14}|FR[0-9]{25})$';
	if n <> 0 then
		raise exception 'self-check: % IBANs fail mod-97 or format', n;
	end if;
	select count(*) into n from customers where iban like 'FR%'
	    and lab.rib_key(substr(iban, 5, 5), substr(iban, 10, 5), substr(iban, 15, 11))
	        <> right(iban, 2);
	if n <> 0 then
		raise exception 'self-check: % French IBANs have a wrong RIB key', n;
	end if;

	select count(*) into n from customers
	where ssn !~ '^[0-9]{3}-[0-9]{2}-[0-9]{4}$'
	    or left(ssn, 3) in ('000', '666') or left(ssn, 1) = '9'
	    or substr(ssn, 5, 2) = '00' or right(ssn, 4) = '0000';
	if n <> 0 then
		raise exception 'self-check: % SSNs are malformed or in a never-issued range', n;
	end if;

	select count(*) into n from customers
	where phone !~ '^\+1-555-[0-9]{3}-[0-9]{4}$'
	    or email !~ '^[a-z0-9.]+@example\.(com|org|net)$';
	if n <> 0 then
		raise exception 'self-check: % phones or emails are malformed', n;
	end if;

	-- notes with a card: exactly the 10 %, each with an email and the
	-- customer's own (Luhn-valid) number
	select count(*) into n from customers
	where notes ~ '[0-9]{4}[ -]?[0-9]{4}[ -]?[0-9]{4}' and notes not like 'Direct debit%';
	if n <> 500 then
		raise exception 'self-check: % notes carry a card number, expected 500', n;
	end if;
	select count(*) into n from customers
	where id % 10 = 3 and (regexp_replace(substring(notes from '[0-9][0-9 -]{11,21}[0-9]'),
	        '[^0-9]', '', 'g') <> card_number
	    or notes !~ '[a-z0-9.]+@example\.(com|org|net)'
	    or not lab.luhn_valid(substring(notes from '[0-9][0-9 -]{11,21}[0-9]')));
	if n <> 0 then
		raise exception 'self-check: % card-carrying notes are wrong', n;
	end if;
	select count(*) into n from customers
	where notes like 'Direct debit%'
	    and not lab.iban_valid(substring(notes from '[A-Z]{2}[0-9]{2}[A-Z0-9 ]+$'));
	if n <> 0 then
		raise exception 'self-check: % IBAN-carrying notes are wrong', n;
	end if;

	select count(*) into n from orders
	where amount < 1.00 or amount > 999.99
	    or created_at < '2024-01-01' or created_at >= '2025-01-01';
	if n <> 0 then
		raise exception 'self-check: % orders out of range', n;
	end if;
end
$$;

commit;

analyze customers;
analyze orders;
