-- beseda_visitor_hello(): current definition, applied with CREATE OR REPLACE on every
-- start after the migrations (docs/STORE.md "SQL functions"). History:
-- migrations 0005, 0017.

-- From 0005_visitor_hello.sql:
-- visitor_hello in one round trip. The store used to send seven statements
-- for a hello (site, BEGIN, touch or create the visitor, record the visit,
-- COMMIT, open conversation), each a round trip on the store's one
-- connection; every page view of every visitor pays it. This function does
-- the writes (one transaction: the statement's), the store's query wraps it
-- with the open-conversation lookup. Same rules as before (docs/STORE.md):
-- a known visitor of this site is touched; a well-formed unknown id is
-- created as given; an id of another site, or none, gets a new visitor.
-- No row: the site does not exist.
CREATE OR REPLACE FUNCTION beseda_visitor_hello(
    p_site uuid, p_visitor uuid, p_url text, p_title text, p_referrer text,
    p_user_agent text, p_language text, p_ip text)
RETURNS TABLE (site_name text, visitor_id uuid, visitor_exists boolean)
LANGUAGE plpgsql AS $$
BEGIN
    SELECT s.name INTO site_name FROM sites s WHERE s.id = p_site;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    visitor_exists := false;
    IF p_visitor IS NOT NULL THEN
        UPDATE visitors v SET last_seen_at = now(), visits = v.visits + 1
         WHERE v.id = p_visitor AND v.site_id = p_site
        RETURNING v.id INTO visitor_id;
        visitor_exists := visitor_id IS NOT NULL;
        IF visitor_id IS NULL THEN
            -- ON CONFLICT: the id belongs to another site; a new one below.
            INSERT INTO visitors AS v (id, site_id) VALUES (p_visitor, p_site)
            ON CONFLICT (id) DO NOTHING
            RETURNING v.id INTO visitor_id;
        END IF;
    END IF;
    IF visitor_id IS NULL THEN
        INSERT INTO visitors AS v (site_id) VALUES (p_site) RETURNING v.id INTO visitor_id;
    END IF;
    INSERT INTO visits (visitor_id, site_id, url, title, referrer, user_agent, language, ip)
    VALUES (visitor_id, p_site, p_url, p_title, p_referrer, p_user_agent, p_language, p_ip);
    RETURN NEXT;
END;
$$;

-- From 0017_visit_place.sql:
-- GeoIP (docs/ROUTING.md "GeoIP"): a visit records the visitor's country and
-- city. The router looks them up from the client address and sends them in
-- the page (PageInfo.country/city); visits.country/city exist since 0012 and
-- a new conversation takes them from the visitor's last visit, so routing
-- rules on country and city match. The 8-argument function stays, giving an
-- unknown place, for a store binary older than this migration during an
-- upgrade.
CREATE OR REPLACE FUNCTION beseda_visitor_hello(
    p_site uuid, p_visitor uuid, p_url text, p_title text, p_referrer text,
    p_user_agent text, p_language text, p_ip text, p_country text, p_city text)
RETURNS TABLE (site_name text, visitor_id uuid, visitor_exists boolean)
LANGUAGE plpgsql AS $$
BEGIN
    SELECT s.name INTO site_name FROM sites s WHERE s.id = p_site;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    visitor_exists := false;
    IF p_visitor IS NOT NULL THEN
        UPDATE visitors v SET last_seen_at = now(), visits = v.visits + 1
         WHERE v.id = p_visitor AND v.site_id = p_site
        RETURNING v.id INTO visitor_id;
        visitor_exists := visitor_id IS NOT NULL;
        IF visitor_id IS NULL THEN
            -- ON CONFLICT: the id belongs to another site; a new one below.
            INSERT INTO visitors AS v (id, site_id) VALUES (p_visitor, p_site)
            ON CONFLICT (id) DO NOTHING
            RETURNING v.id INTO visitor_id;
        END IF;
    END IF;
    IF visitor_id IS NULL THEN
        INSERT INTO visitors AS v (site_id) VALUES (p_site) RETURNING v.id INTO visitor_id;
    END IF;
    INSERT INTO visits (visitor_id, site_id, url, title, referrer, user_agent, language, ip,
                        country, city)
    VALUES (visitor_id, p_site, p_url, p_title, p_referrer, p_user_agent, p_language, p_ip,
            coalesce(p_country, ''), coalesce(p_city, ''));
    RETURN NEXT;
END;
$$;
