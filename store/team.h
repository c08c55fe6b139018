/* Transfer with an internal note, and the team chat (docs/STORE.md
 * "transfer", "team_append", "team_fetch"). transfer.c, team.c. */
#ifndef STORE_TEAM_H
#define STORE_TEAM_H

#include "store.h"

#define TEAM_FETCH_MAX        200            /* team messages per fetch (also the default) */
#define TEAM_FETCH_MAX_BYTES  (256 * 1024)   /* per fetch, counted as STORE_FETCH_MAX_BYTES is */
#define TEAM_CLIENT_ID_MAX    128            /* bytes of a team message's client id */
#define TRANSFER_NOTE_MAX     8000           /* bytes (the gateway allows 2000 characters) */
#define TRANSFER_ANY_OF_MAX   1000           /* operators of a group offered to the store */

store_err_t store_transfer(store_ctx_t *ctx, const Beseda__StoreTransfer *req,
                           Beseda__StoreReply *reply, store_mem_t *mem);
store_err_t store_team_append(store_ctx_t *ctx, const Beseda__StoreTeamAppend *req,
                              Beseda__StoreReply *reply, store_mem_t *mem);
store_err_t store_team_fetch(store_ctx_t *ctx, const Beseda__StoreTeamFetch *req,
                             Beseda__StoreReply *reply, store_mem_t *mem);

#endif
