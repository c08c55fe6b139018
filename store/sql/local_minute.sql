-- beseda_local_minute(): current definition, applied with CREATE OR REPLACE on every
-- start after the migrations (docs/STORE.md "SQL functions"). History:
-- migrations 0012.

-- From 0012_routing.sql:
-- Minutes since Monday 00:00 in the site's time zone (docs/ROUTING.md
-- "timezone"): "UTC+03:00" is three hours east, computed here because
-- PostgreSQL reads the POSIX-style 'UTC+3' as three hours WEST. An IANA name
-- follows its daylight saving. A name the server does not know (it was
-- valid when stored; the tz database changed since) counts as UTC rather than
-- failing the request.
CREATE OR REPLACE FUNCTION beseda_local_minute(p_tz text) RETURNS int
LANGUAGE plpgsql STABLE AS $$
DECLARE
    t timestamp;
    m text[];
BEGIN
    m := regexp_match(coalesce(p_tz, ''), '^UTC([+-])([0-9]{2}):([0-9]{2})$');
    IF m IS NOT NULL THEN
        t := (now() AT TIME ZONE 'UTC')
             + (CASE WHEN m[1] = '-' THEN -1 ELSE 1 END)
               * (m[2]::int * 60 + m[3]::int) * interval '1 minute';
    ELSIF coalesce(p_tz, '') IN ('', 'UTC') THEN
        t := now() AT TIME ZONE 'UTC';
    ELSE
        BEGIN
            t := now() AT TIME ZONE p_tz;
        EXCEPTION WHEN OTHERS THEN
            t := now() AT TIME ZONE 'UTC';
        END;
    END IF;
    RETURN (extract(isodow FROM t)::int - 1) * 1440
           + extract(hour FROM t)::int * 60 + extract(minute FROM t)::int;
END;
$$;
