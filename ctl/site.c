/* besedactl site create | list: sites through the store's admin requests.
 * Both print the widget embed snippet, which needs the public URL of the
 * gateways (--gateway-url or BESEDA_PUBLIC_URL). */
#include "ctl.h"
#include "table.h"
#include <stdio.h>
#include <string.h>

#define SITE_ORIGINS_MAX 100
#define GATEWAY_URL_PLACEHOLDER "https://GATEWAY"

void ctl_embed(char *out, size_t size, const char *gateway_url, const char *site_id)
{
    const char *url = gateway_url && *gateway_url ? gateway_url : GATEWAY_URL_PLACEHOLDER;
    size_t len = strlen(url);
    while (len > 0 && url[len - 1] == '/')
        len--;
    snprintf(out, size, "<script src=\"%.*s/widget.js\" data-site=\"%s\" async></script>",
             (int) len, url, site_id);
}

static json_t *site_json(const Beseda__SiteInfo *site, const char *gateway_url)
{
    char embed[1024];
    ctl_embed(embed, sizeof embed, gateway_url, site->id);
    json_t *origins = json_array();
    for (size_t i = 0; i < site->n_origins; i++)
        json_array_append_new(origins, json_string(site->origins[i]));
    return json_pack("{s:s,s:s,s:o,s:I,s:s}", "id", site->id, "name", site->name, "origins", origins,
                     "created_ms", (json_int_t) site->created_ms, "embed", embed);
}

/* --origins a,b --origins c: every comma-separated piece, trimmed. */
static size_t collect_origins(const ctl_opt_t *opt, char *buf, size_t size, char **out)
{
    size_t n = 0, used = 0;
    for (size_t i = 0; i < opt->n_values; i++) {
        size_t len = strlen(opt->values[i]);
        if (used + len + 1 > size)
            break;
        char *copy = memcpy(buf + used, opt->values[i], len + 1);
        used += len + 1;
        for (char *tok = strtok(copy, ", "); tok && n < SITE_ORIGINS_MAX; tok = strtok(NULL, ", "))
            out[n++] = tok;
    }
    return n;
}

static void warn_placeholder(const char *gateway_url)
{
    if (!*gateway_url)
        fprintf(stderr, "besedactl: no --gateway-url or BESEDA_PUBLIC_URL: the snippet says %s\n",
                GATEWAY_URL_PLACEHOLDER);
}

static int site_create(int argc, char **argv)
{
    ctl_opt_t opts[] = {
        CTL_COMMON_OPTS,
        CTL_OPT("name", NULL, CTL_ARG_STRING, NULL, "site name"),
        CTL_OPT("origins", NULL, CTL_ARG_LIST, NULL,
                "allowed page origins, comma-separated (e.g. https://shop.example)"),
        CTL_OPT("gateway-url", "BESEDA_PUBLIC_URL", CTL_ARG_STRING, "",
                "public URL of the gateways, for the embed snippet"),
        CTL_OPT_END
    };
    ctl_t ctl;
    ctl_parsed_t parsed;
    int done;
    int rc = ctl_begin(&ctl, opts, argc, argv, 0, 0, &parsed,
                       "besedactl site create --name NAME [--origins a,b] [--gateway-url URL]",
                       "Creates a site; prints its id and the widget embed snippet.", &done);
    if (rc != CTL_EXIT_OK || done)
        goto out;
    if (!*ctl_arg_str(opts, "name")) {
        rc = ctl_error(&ctl, CTL_EXIT_USAGE, "usage", "--name must not be empty");
        goto out;
    }
    char buf[8192];
    char *origins[SITE_ORIGINS_MAX];
    Beseda__StoreCreateSite create = BESEDA__STORE_CREATE_SITE__INIT;
    create.name = (char *) ctl_arg_str(opts, "name");
    create.origins = origins;
    create.n_origins = collect_origins(ctl_arg(opts, "origins"), buf, sizeof buf, origins);
    Beseda__StoreRequest req = BESEDA__STORE_REQUEST__INIT;
    req.body_case = BESEDA__STORE_REQUEST__BODY_CREATE_SITE;
    req.create_site = &create;
    Beseda__StoreReply *reply;
    rc = ctl_store(&ctl, "admin", &req, &reply);
    if (rc != CTL_EXIT_OK)
        goto out;
    const char *url = ctl_arg_str(opts, "gateway-url");
    if (reply->body_case != BESEDA__STORE_REPLY__BODY_SITE)
        rc = ctl_error(&ctl, CTL_EXIT_FAILED, "internal", "unexpected answer from the store");
    else if (ctl.json)
        ctl_print_json(site_json(reply->site, url));
    else {
        char embed[1024];
        ctl_embed(embed, sizeof embed, url, reply->site->id);
        printf("%s\n%s\n", reply->site->id, embed);
        warn_placeholder(url);
    }
    beseda__store_reply__free_unpacked(reply, NULL);
out:
    ctl_end(&ctl);
    return rc;
}

static void print_sites(ctl_t *ctl, const Beseda__SiteList *list, const char *url)
{
    if (ctl->json) {
        json_t *sites = json_array();
        for (size_t i = 0; i < list->n_sites; i++)
            json_array_append_new(sites, site_json(list->sites[i], url));
        ctl_print_json(json_pack("{s:o}", "sites", sites));
        return;
    }
    printf("%-36s %-24s %s\n", "ID", "NAME", "ORIGINS");
    for (size_t i = 0; i < list->n_sites; i++) {
        const Beseda__SiteInfo *s = list->sites[i];
        char name[256];
        ctl_cell(name, sizeof name, s->name, 24, 1);
        printf("%-36s %s ", s->id, name);
        for (size_t j = 0; j < s->n_origins; j++)
            printf("%s%s", j ? "," : "", s->origins[j]);
        printf("%s\n", s->n_origins ? "" : "(any listed by the gateway)");
    }
    if (list->n_sites > 0) {
        char embed[1024];
        ctl_embed(embed, sizeof embed, url, "SITE_ID");
        printf("\nembed: %s\n", embed);
    }
}

static int site_list(int argc, char **argv)
{
    ctl_opt_t opts[] = {
        CTL_COMMON_OPTS,
        CTL_OPT("gateway-url", "BESEDA_PUBLIC_URL", CTL_ARG_STRING, "",
                "public URL of the gateways, for the embed snippet"),
        CTL_OPT_END
    };
    ctl_t ctl;
    ctl_parsed_t parsed;
    int done;
    int rc = ctl_begin(&ctl, opts, argc, argv, 0, 0, &parsed, "besedactl site list [--json]",
                       "Lists every site (with --json, each with its embed snippet).", &done);
    if (rc != CTL_EXIT_OK || done)
        goto out;
    Beseda__StoreListSites list = BESEDA__STORE_LIST_SITES__INIT;
    Beseda__StoreRequest req = BESEDA__STORE_REQUEST__INIT;
    req.body_case = BESEDA__STORE_REQUEST__BODY_LIST_SITES;
    req.list_sites = &list;
    Beseda__StoreReply *reply;
    rc = ctl_store(&ctl, "admin", &req, &reply);
    if (rc != CTL_EXIT_OK)
        goto out;
    if (reply->body_case != BESEDA__STORE_REPLY__BODY_SITES)
        rc = ctl_error(&ctl, CTL_EXIT_FAILED, "internal", "unexpected answer from the store");
    else
        print_sites(&ctl, reply->sites, ctl_arg_str(opts, "gateway-url"));
    beseda__store_reply__free_unpacked(reply, NULL);
out:
    ctl_end(&ctl);
    return rc;
}

int ctl_cmd_site(int argc, char **argv)
{
    if (argc >= 1 && strcmp(argv[0], "create") == 0)
        return site_create(argc - 1, argv + 1);
    if (argc >= 1 && strcmp(argv[0], "list") == 0)
        return site_list(argc - 1, argv + 1);
    if (argc >= 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
        printf("Usage: besedactl site create|list [options]  (each with --help)\n");
        return CTL_EXIT_OK;
    }
    return ctl_error(NULL, CTL_EXIT_USAGE, "usage",
                     "usage: besedactl site create|list [options] (see --help)");
}
