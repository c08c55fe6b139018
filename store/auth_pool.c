/* See auth_pool.h. Jobs and verdicts are two FIFO lists under one mutex; a
 * pipe wakes the store's loop (it polls the pipe next to the bus socket), one
 * byte per verdict. */
#include "auth_pool.h"
#include "log.h"
#include "util.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct job_t {
    struct job_t *next;
    uint64_t id;
    int64_t deadline_ms;
    auth_verdict_t verdict;
    char hash[crypto_pwhash_STRBYTES];   /* libsodium reads this fixed size */
    char *password;                      /* wiped before it is freed */
} job_t;

typedef struct {
    job_t *head, *tail;
} job_list_t;

struct store_auth_pool_t {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    job_list_t todo, done;
    size_t busy;                          /* submitted, not yet taken */
    bool stopping;
    int pipe_r, pipe_w;
    int n_threads;
    pthread_t threads[AUTH_POOL_MAX_THREADS];
};

static void list_push(job_list_t *l, job_t *j)
{
    j->next = NULL;
    if (l->tail)
        l->tail->next = j;
    else
        l->head = j;
    l->tail = j;
}

static job_t *list_pop(job_list_t *l)
{
    job_t *j = l->head;
    if (j) {
        l->head = j->next;
        if (!l->head)
            l->tail = NULL;
    }
    return j;
}

static void job_free(job_t *j)
{
    if (!j)
        return;
    if (j->password) {
        sodium_memzero(j->password, strlen(j->password));
        free(j->password);
    }
    free(j);
}

static void verify(job_t *j)
{
    if (j->deadline_ms && beseda_mono_ms() >= j->deadline_ms)
        j->verdict = AUTH_EXPIRED;        /* nobody waits: spare the 64 MiB and the CPU */
    else
        j->verdict = crypto_pwhash_str_verify(j->hash, j->password, strlen(j->password)) == 0
                   ? AUTH_GOOD : AUTH_BAD;
    sodium_memzero(j->password, strlen(j->password));
}

static void *thread_main(void *arg)
{
    store_auth_pool_t *self = arg;
    pthread_mutex_lock(&self->lock);
    for (;;) {
        while (!self->stopping && !self->todo.head)
            pthread_cond_wait(&self->wake, &self->lock);
        if (self->stopping)
            break;
        job_t *j = list_pop(&self->todo);
        pthread_mutex_unlock(&self->lock);
        verify(j);
        pthread_mutex_lock(&self->lock);
        list_push(&self->done, j);
        /* The pipe holds far more bytes than verdicts can wait; a full one
         * (EAGAIN) still leaves the loop readable. */
        ssize_t w = write(self->pipe_w, "v", 1);
        (void) w;
    }
    pthread_mutex_unlock(&self->lock);
    return NULL;
}

static int open_pipe(store_auth_pool_t *self)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    self->pipe_r = fds[0];
    self->pipe_w = fds[1];
    for (int i = 0; i < 2; i++) {
        int fl = fcntl(fds[i], F_GETFL);
        if (fl < 0 || fcntl(fds[i], F_SETFL, fl | O_NONBLOCK) != 0)
            return -1;
        fcntl(fds[i], F_SETFD, FD_CLOEXEC);
    }
    return 0;
}

store_auth_pool_t *store_auth_pool_new(int threads)
{
    if (threads < 1 || threads > AUTH_POOL_MAX_THREADS)
        return NULL;
    store_auth_pool_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->pipe_r = self->pipe_w = -1;
    if (pthread_mutex_init(&self->lock, NULL) != 0) {
        free(self);
        return NULL;
    }
    if (pthread_cond_init(&self->wake, NULL) != 0) {
        pthread_mutex_destroy(&self->lock);
        free(self);
        return NULL;
    }
    if (open_pipe(self) != 0)
        goto fail;
    for (int i = 0; i < threads; i++) {
        if (pthread_create(&self->threads[i], NULL, thread_main, self) != 0)
            goto fail;
        self->n_threads++;
    }
    return self;
fail:
    log_error("cannot start the password verification threads", "error", strerror(errno));
    store_auth_pool_destroy(&self);
    return NULL;
}

void store_auth_pool_destroy(store_auth_pool_t **self_p)
{
    store_auth_pool_t *self = self_p ? *self_p : NULL;
    if (!self)
        return;
    pthread_mutex_lock(&self->lock);
    self->stopping = true;
    pthread_cond_broadcast(&self->wake);
    pthread_mutex_unlock(&self->lock);
    for (int i = 0; i < self->n_threads; i++)
        pthread_join(self->threads[i], NULL);
    job_t *j;
    while ((j = list_pop(&self->todo)))
        job_free(j);
    while ((j = list_pop(&self->done)))
        job_free(j);
    if (self->pipe_r >= 0)
        close(self->pipe_r);
    if (self->pipe_w >= 0)
        close(self->pipe_w);
    pthread_cond_destroy(&self->wake);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

int store_auth_pool_fd(store_auth_pool_t *self) { return self->pipe_r; }

int store_auth_pool_submit(store_auth_pool_t *self, uint64_t id, const char *hash,
                           const char *password, int64_t deadline_ms)
{
    job_t *j = calloc(1, sizeof *j);
    if (!j)
        return -1;
    j->id = id;
    j->deadline_ms = deadline_ms;
    /* Longer than a hash can be: truncated, it fails verification (AUTH_BAD). */
    snprintf(j->hash, sizeof j->hash, "%s", hash ? hash : "");
    j->password = strdup(password ? password : "");
    if (!j->password) {
        free(j);
        return -1;
    }
    pthread_mutex_lock(&self->lock);
    list_push(&self->todo, j);
    self->busy++;
    pthread_cond_signal(&self->wake);
    pthread_mutex_unlock(&self->lock);
    return 0;
}

int store_auth_pool_take(store_auth_pool_t *self, uint64_t *id, auth_verdict_t *verdict)
{
    char byte;
    while (read(self->pipe_r, &byte, 1) == 1)
        ;                                 /* the list below is the truth; bytes only wake */
    pthread_mutex_lock(&self->lock);
    job_t *j = list_pop(&self->done);
    if (j)
        self->busy--;
    /* Verdicts left behind a drained pipe must still wake the loop. */
    if (j && self->done.head) {
        ssize_t w = write(self->pipe_w, "v", 1);
        (void) w;
    }
    pthread_mutex_unlock(&self->lock);
    if (!j)
        return 0;
    *id = j->id;
    *verdict = j->verdict;
    job_free(j);
    return 1;
}

size_t store_auth_pool_busy(store_auth_pool_t *self)
{
    pthread_mutex_lock(&self->lock);
    size_t n = self->busy;
    pthread_mutex_unlock(&self->lock);
    return n;
}
