#include "validate.h"
#include "util.h"
#include <string.h>

/* Length of the UTF-8 sequence starting at p (at most n bytes available), or
 * 0 if it is not a valid one. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
    if (p[0] < 0x80)
        return p[0] ? 1 : 0;
    size_t len;
    unsigned min, cp;
    if ((p[0] & 0xe0) == 0xc0) { len = 2; cp = p[0] & 0x1f; min = 0x80; }
    else if ((p[0] & 0xf0) == 0xe0) { len = 3; cp = p[0] & 0x0f; min = 0x800; }
    else if ((p[0] & 0xf8) == 0xf0) { len = 4; cp = p[0] & 0x07; min = 0x10000; }
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

int store_valid_utf8(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *) s;
    size_t i = 0;
    while (i < len) {
        size_t n = utf8_seq(p + i, len - i);
        if (n == 0)
            return 0;
        i += n;
    }
    return 1;
}

int store_valid_text(const char *s, size_t max_bytes)
{
    if (!s)
        return 1;          /* protobuf-c absent string: treated as "" */
    size_t len = strlen(s);
    return len <= max_bytes && store_valid_utf8(s, len);
}

int store_valid_uuid(const char *s)
{
    return s && beseda_is_uuid(s);
}

int store_valid_page(const Beseda__PageInfo *page)
{
    if (!page)
        return 1;
    return store_valid_text(page->url, STORE_FIELD_MAX_BYTES)
        && store_valid_text(page->title, STORE_FIELD_MAX_BYTES)
        && store_valid_text(page->referrer, STORE_FIELD_MAX_BYTES)
        && store_valid_text(page->user_agent, STORE_FIELD_MAX_BYTES)
        && store_valid_text(page->language, STORE_FIELD_MAX_BYTES)
        && store_valid_text(page->country, STORE_FIELD_MAX_BYTES)
        && store_valid_text(page->city, STORE_FIELD_MAX_BYTES);
}

store_err_t store_validate_append(const Beseda__StoreAppend *req)
{
    const Beseda__Author *a = req->author;
    if (!store_valid_uuid(req->site_id) || !store_valid_uuid(req->conversation_id) || !a)
        return STORE_BAD_REQUEST;
    int is_system = a->kind && strcmp(a->kind, "system") == 0;
    int is_person = a->kind && (strcmp(a->kind, "visitor") == 0 || strcmp(a->kind, "operator") == 0);
    if (!is_system && !is_person)
        return STORE_BAD_REQUEST;
    if (is_person && !store_valid_uuid(a->id))
        return STORE_BAD_REQUEST;
    if (!req->client_msg_id || !*req->client_msg_id)
        return STORE_BAD_REQUEST;
    if (!store_valid_text(req->client_msg_id, STORE_FIELD_MAX_BYTES)
        || !store_valid_text(a->name, STORE_FIELD_MAX_BYTES)
        || !store_valid_text(req->text, STORE_TEXT_MAX_BYTES))
        return STORE_BAD_REQUEST;
    return STORE_OK;
}

size_t store_msgs_within(Beseda__ChatMessage *const *msgs, size_t n, size_t budget)
{
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        const char *text = msgs[i] && msgs[i]->text ? msgs[i]->text : "";
        used += strlen(text) + STORE_MSG_OVERHEAD;
        if (used > budget)
            return i > 0 ? i : 1;
    }
    return n;
}
