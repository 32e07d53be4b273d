/*
 * The store: everything that touches LMDB (see store.h for the contract).
 *
 * Layout of the environment (named databases):
 *   log_urgent, log_bulk  key = 8-byte BE seq, value = 8-byte BE store time
 *                         (ms) + encoded record; written with MDB_APPEND
 *   meta                  "format" (BE64 AW_STORE_FORMAT), "epoch" (BE64),
 *                         "created_ms", "hlc" (BE64 floor), "pruned_ms",
 *                         "lane.urgent" / "lane.bulk" (6 x BE64: head,
 *                         first, acked, bytes, count, acked_bytes)
 *   <caller tables>       opened with aw_store_table()
 *
 * A lane's metadata is written in the same transaction as its records. A
 * write transaction reads the lane positions from meta when it begins and
 * works on that copy; the in-memory copy (self->lanes, for lane_info) is
 * replaced by it only after a successful commit, so an abort discards it.
 *
 * Pruning removes records from the front of a lane only, so first..head
 * stays dense. Every removal of an unacked bulk record writes, in the same
 * transaction, the gap record that names it.
 *
 * A read-only handle (aw_store_opts.read_only) opens the environment with
 * MDB_RDONLY and the map size the writer recorded, opens the databases
 * without MDB_CREATE in read transactions (committed, so the handles stay),
 * and refuses every write with AW_EPERM before LMDB is asked.
 */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>

#include "codec.h"

/*
 * Reader slots: LMDB's default of 126, far above the threads of any anwang
 * process. With MDB_NOTLS a slot belongs to a read transaction only while
 * it is open, so short reads from several threads never run out of slots.
 */
#define S_MAX_READERS    126u
#define S_CORE_DBS       3u /* log_urgent, log_bulk, meta */
#define S_DEFAULT_MAP    ((size_t)64 << 20)
#define S_DEFAULT_TABLES 32u
#define S_MAX_TABLES     4096u
#define S_MAX_NAME       200u
#define S_MAX_KEY        511u /* LMDB's compiled-in key limit */
#define S_LANE_VAL       48u  /* 6 x BE64 */
/*
 * The most a stored gap record takes: header 8 + Record{hlc: 1+10, gap: 1+1
 * + Gap{lane: 2, from, to, count, time_ms: 4 x (1+10)}} = 8 + 59.
 */
#define S_GAP_RESERVE       67u
#define S_CHUNK_RECORDS     20000u /* prune bound per transaction */
#define S_CHUNK_BYTES       ((uint64_t)8 << 20)
#define S_MAP_ALIGN         ((size_t)64 << 10)
#define S_RESERVE_MIN_PAGES 64u                 /* map room kept for pruning */
#define S_DISK_LOW          ((uint64_t)1 << 20) /* an EIO with less free is a full disk */
#define S_MAX_GROWS         16
#define S_ROOM_STEP         ((uint64_t)256 << 10) /* map room a caller txn checks at once */
#define S_GROW_WAIT_MS      1000                  /* how long a growth waits for open txns to end */

/* Internal outcomes of one append attempt (never returned to callers). */
enum { S_PRUNED = -1, S_GREW = -2 };

/* Why a write failed for lack of room: decides the recovery. */
enum { S_FULL_NONE = 0, S_FULL_MAP, S_FULL_DISK, S_FULL_TXN };

typedef struct s_table {
    char *name;
    MDB_dbi dbi;
} s_table;

struct aw_store {
    MDB_env *env;
    MDB_dbi log[AW_LANE_COUNT];
    MDB_dbi meta;
    aw_store_opts opts; /* defaults applied; path points to self->path */
    char *path;
    uint64_t epoch;
    s_table *tables;
    unsigned ntables;
    pthread_mutex_t writer; /* one write transaction at a time, begin..end */
    pthread_mutex_t mu;     /* guards the fields below */
    pthread_cond_t idle;    /* active fell to 0, or a map growth ended */
    aw_lane_info lanes[AW_LANE_COUNT];
    uint64_t durable[AW_LANE_COUNT]; /* heads at the last flush (NOSYNC) */
    uint64_t hlc;
    unsigned active;  /* open transactions; the map is resized only at 0 */
    size_t map_size;  /* current LMDB map size */
    bool grow_wanted; /* a full map waits for the last transaction to end */
    bool has_cap;     /* the map or disk filled at its limit: */
    uint64_t cap;     /* log bytes that fit (lowers the budget) */
    bool broken;      /* a remap failed: only destroy is safe */
    bool writemap;    /* NOSYNC: MDB_WRITEMAP over a map reserved on disk */
    bool unreserved;  /* the last growth failed: no disk space for the map */
};

struct aw_txn {
    aw_store_t *store;
    MDB_txn *txn;
    bool write;
    int err;          /* set when LMDB made the txn unusable: only abort remains */
    int full;         /* S_FULL_* seen in this txn, for recovery at its end */
    uint64_t deficit; /* bytes the log should shed when the map cannot grow */
    uint64_t room;    /* bytes this txn may still append without a map check */
    bool grew;        /* the map grew when this txn ended */
    uint64_t max;     /* the budget in force (UINT64_MAX = none) */
    aw_lane_info lanes[AW_LANE_COUNT];
    uint64_t hlc;
    bool lane_dirty[AW_LANE_COUNT];
    bool hlc_dirty;
    uint64_t pruned; /* records removed in this txn (chunk bound) */
    uint64_t pruned_bytes;
};

/* One aw_store_append() call. */
typedef struct s_batch {
    aw_lane lane;
    const void *const *recs;
    const size_t *lens;
    size_t n;
    uint64_t hlc;
    uint64_t add; /* stored bytes, headers included */
    bool more;    /* pruning stopped at the chunk bound: go on to the target */
} s_batch;

static const char *const s_log_names[AW_LANE_COUNT] = {"log_urgent", "log_bulk"};
static const char *const s_lane_keys[AW_LANE_COUNT] = {"lane.urgent", "lane.bulk"};

/* ------------------------------------------------------------ small helpers */

void aw_put_be64(uint8_t out[8], uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        out[i] = (uint8_t)v;
        v >>= 8;
    }
}

uint64_t aw_get_be64(const uint8_t in[8])
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | in[i];
    return v;
}

const char *aw_lane_name(aw_lane lane)
{
    switch (lane) {
    case AW_LANE_URGENT:
        return "urgent";
    case AW_LANE_BULK:
        return "bulk";
    }
    return "?";
}

static bool s_lane_ok(aw_lane lane)
{
    return lane == AW_LANE_URGENT || lane == AW_LANE_BULK;
}

/* Converts an LMDB or errno code at the border; no MDB_* code leaves here. */
static int s_err(int rc)
{
    switch (rc) {
    case MDB_SUCCESS:
        return AW_OK;
    case MDB_NOTFOUND:
        return AW_ENOTFOUND;
    case MDB_KEYEXIST:
        return AW_EEXIST;
    case MDB_MAP_FULL:
    case MDB_TXN_FULL:
    case ENOSPC:
    case EDQUOT:
        return AW_EFULL;
    case MDB_CORRUPTED:
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
    case MDB_PAGE_NOTFOUND:
    case MDB_INCOMPATIBLE:
        return AW_ECORRUPT;
    case ENOMEM:
        return AW_ENOMEM;
    case MDB_BAD_VALSIZE:
    case EINVAL:
        return AW_EINVAL;
    case MDB_DBS_FULL:
        return AW_ETOOBIG;
    case MDB_READERS_FULL:
    case MDB_MAP_RESIZED:
    case EAGAIN:
        return AW_EAGAIN;
    case EACCES:
    case EPERM:
    case EROFS:
        return AW_EPERM;
    default:
        return AW_EIO;
    }
}

static int s_full_err(aw_lane lane)
{
    return lane == AW_LANE_URGENT ? AW_EURGENTFULL : AW_EFULL;
}

static int64_t s_now(const aw_store_t *self)
{
    if (self->opts.now_ms)
        return self->opts.now_ms(self->opts.clock_arg);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t s_total(const aw_lane_info *lanes)
{
    return lanes[AW_LANE_URGENT].bytes + lanes[AW_LANE_BULK].bytes;
}

/*
 * LMDB short-writes with EIO when the filesystem fills in the middle of a
 * write; an EIO while (almost) no block is free is taken as a full disk.
 * f_bfree, not f_bavail: the daemon may run as root and use reserved blocks.
 */
static bool s_disk_low(const char *path)
{
    struct statvfs sv;
    if (statvfs(path, &sv) != 0)
        return false;
    return (uint64_t)sv.f_bfree * sv.f_frsize < S_DISK_LOW;
}

static int s_full_kind(const aw_store_t *self, int mrc)
{
    switch (mrc) {
    case MDB_MAP_FULL:
        return S_FULL_MAP;
    case MDB_TXN_FULL:
        return S_FULL_TXN;
    case ENOSPC:
    case EDQUOT:
        return S_FULL_DISK;
    case EIO:
        return s_disk_low(self->path) ? S_FULL_DISK : S_FULL_NONE;
    default:
        return S_FULL_NONE;
    }
}

/* ------------------------------------------------------------ map size */

/*
 * With MDB_WRITEMAP LMDB extends the data file to the map size with
 * ftruncate(), which leaves it sparse: a commit that dirties a page in a
 * hole makes the file system allocate a block on that write to memory, and
 * on a full disk that is a SIGBUS, not an error. So the whole map is
 * allocated with fallocate() first; a map that cannot be reserved is not
 * used (see s_env_open() and s_grow_locked()). Returns 0 or an errno.
 */
static int s_reserve(aw_store_t *self)
{
    int fd;
    if (!self->writemap)
        return 0;
    if (mdb_env_get_fd(self->env, &fd) != MDB_SUCCESS)
        return EBADF;
    while (fallocate(fd, 0, 0, (off_t)self->map_size) != 0)
        if (errno != EINTR)
            return errno;
    return 0;
}

static void s_refresh_map_size(aw_store_t *self)
{
    MDB_envinfo info;
    if (mdb_env_info(self->env, &info) == MDB_SUCCESS)
        self->map_size = info.me_mapsize;
}

/*
 * Doubles the map, up to map_max. The caller holds mu and no transaction
 * of this process is open (LMDB's rule for mdb_env_set_mapsize). Returns
 * true when the map grew. A failed remap leaves LMDB without a map: the
 * store is then marked broken and refuses further transactions.
 */
static bool s_grow_locked(aw_store_t *self)
{
    size_t cur = self->map_size, max = self->opts.map_max;
    self->grow_wanted = false;
    if (cur >= max)
        return false;
    size_t next = cur > max / 2 ? max : (cur * 2 + S_MAP_ALIGN - 1) / S_MAP_ALIGN * S_MAP_ALIGN;
    if (next > max)
        next = max;
    if (mdb_env_set_mapsize(self->env, next) != MDB_SUCCESS) {
        self->broken = true;
        return false;
    }
    s_refresh_map_size(self);
    self->unreserved = s_reserve(self) != 0;
    if (self->unreserved) {
        /* back to the reserved size (LMDB truncates the file to it) */
        if (mdb_env_set_mapsize(self->env, cur) != MDB_SUCCESS)
            self->broken = true;
        s_refresh_map_size(self);
    }
    return self->map_size > cur;
}

static bool s_wait_idle(aw_store_t *self, const struct timespec *deadline);
static struct timespec s_deadline(void);

/* Adopts a map another process grew (MDB_MAP_RESIZED), once no txn is open. */
static int s_adopt_map(aw_store_t *self)
{
    int rc = AW_EAGAIN;
    struct timespec deadline = s_deadline();
    pthread_mutex_lock(&self->mu);
    while (self->active > 0 && s_wait_idle(self, &deadline))
        ;
    if (self->active == 0) {
        rc = s_err(mdb_env_set_mapsize(self->env, 0));
        if (rc)
            self->broken = true;
        s_refresh_map_size(self);
        /* Best effort: the other process owns this growth. */
        if (rc == AW_OK)
            (void)s_reserve(self);
    }
    pthread_mutex_unlock(&self->mu);
    return rc;
}

/* Waits on the idle condition until @p deadline; false on timeout. */
static bool s_wait_idle(aw_store_t *self, const struct timespec *deadline)
{
    return pthread_cond_timedwait(&self->idle, &self->mu, deadline) == 0;
}

static struct timespec s_deadline(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += S_GROW_WAIT_MS / 1000;
    return ts;
}

/*
 * Counts a transaction as open; refused once the store is broken. While a
 * map growth waits for the open transactions to end, new ones wait too
 * (bounded, so a thread that holds a transaction itself cannot hang), unless
 * @p nested: begun by the store inside a transaction it holds.
 */
static int s_gate_enter(aw_store_t *self, bool nested)
{
    int rc = AW_OK;
    struct timespec deadline = s_deadline();
    pthread_mutex_lock(&self->mu);
    while (!nested && self->grow_wanted && self->active > 0 && s_wait_idle(self, &deadline))
        ;
    if (self->active == 0 && self->grow_wanted)
        s_grow_locked(self);
    if (self->broken)
        rc = AW_EIO;
    else
        self->active++;
    pthread_mutex_unlock(&self->mu);
    return rc;
}

/* The last transaction out performs a growth that had to wait. */
static void s_gate_leave(aw_store_t *self)
{
    pthread_mutex_lock(&self->mu);
    self->active--;
    if (self->active == 0) {
        if (self->grow_wanted)
            s_grow_locked(self);
        pthread_cond_broadcast(&self->idle);
    }
    pthread_mutex_unlock(&self->mu);
}

/* Grows the map once the open transactions (readers) have ended. */
static bool s_grow_when_idle(aw_store_t *self)
{
    struct timespec deadline = s_deadline();
    size_t before = self->map_size;
    self->grow_wanted = true;
    while (self->active > 0 && self->grow_wanted && s_wait_idle(self, &deadline))
        ;
    if (self->active == 0 && self->grow_wanted)
        s_grow_locked(self);
    pthread_cond_broadcast(&self->idle);
    return self->map_size > before;
}

/*
 * After a write failed for lack of room (its transaction has ended): grow
 * the map when it may grow; otherwise, when a budget is set, lower it to
 * 90% of the log bytes stored now less @p deficit (the bytes that were
 * missing), so that the next append prunes first and pages freed by
 * pruning are not all needed again at once. Returns true when the map
 * grew.
 */
static bool s_on_full(aw_store_t *self, int kind, uint64_t deficit)
{
    bool grew = false;
    pthread_mutex_lock(&self->mu);
    bool may_grow = kind == S_FULL_MAP && self->map_size < self->opts.map_max;
    if (may_grow)
        grew = s_grow_when_idle(self);
    /* A growth the disk could not reserve (MDB_WRITEMAP): the disk is full. */
    if (may_grow && !grew && self->unreserved)
        may_grow = false, kind = S_FULL_DISK;
    if (!may_grow && kind != S_FULL_TXN && self->opts.max_bytes) {
        uint64_t stored = s_total(self->lanes);
        uint64_t cap = stored > 2 * deficit ? stored - deficit : stored / 2;
        cap -= cap / 10;
        if (cap && (!self->has_cap || cap < self->cap)) {
            self->cap = cap;
            self->has_cap = true;
        }
    }
    pthread_mutex_unlock(&self->mu);
    return grew;
}

/* Begins an LMDB transaction inside the gate; adopts a map grown elsewhere. */
static int s_mdb_begin(aw_store_t *self, unsigned flags, bool nested, MDB_txn **txn)
{
    for (int tries = 0;; tries++) {
        int rc = s_gate_enter(self, nested);
        if (rc)
            return rc;
        int mrc = mdb_txn_begin(self->env, NULL, flags, txn);
        if (mrc == MDB_SUCCESS)
            return AW_OK;
        s_gate_leave(self);
        if (mrc != MDB_MAP_RESIZED || tries > 0)
            return s_err(mrc);
        if ((rc = s_adopt_map(self)) != AW_OK)
            return rc;
    }
}

/* Pages on LMDB's free list (reusable now, or after the readers move on). */
static int s_free_pages(aw_store_t *self, uint64_t *pages)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k, v;
    int rc = s_mdb_begin(self, MDB_RDONLY, true, &txn);
    if (rc)
        return rc;
    *pages = 0;
    int mrc = mdb_cursor_open(txn, 0 /* FREE_DBI */, &cur);
    if (mrc == MDB_SUCCESS) {
        while ((mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == MDB_SUCCESS) {
            size_t n = 0;
            if (v.mv_size >= sizeof n)
                memcpy(&n, v.mv_data, sizeof n); /* an IDL: its count first */
            *pages += n;
        }
        mdb_cursor_close(cur);
    }
    mdb_txn_abort(txn);
    s_gate_leave(self);
    return mrc == MDB_NOTFOUND ? AW_OK : s_err(mrc);
}

/*
 * Checks that appending @p add bytes in @p n records leaves the map room
 * kept for pruning (1/128 of the map, at least 64 pages): appends stop
 * there with AW_EFULL, so a prune transaction always finds pages to work
 * with. The page estimate is pessimistic (half-full pages, 32 bytes per
 * node). Returns 0, or the bytes missing.
 */
static uint64_t s_map_deficit(aw_store_t *self, uint64_t add, uint64_t n)
{
    MDB_envinfo info;
    MDB_stat st;
    uint64_t free_pages = 0;
    if (mdb_env_info(self->env, &info) || mdb_env_stat(self->env, &st))
        return 0; /* cannot tell: let LMDB decide */
    uint64_t total = info.me_mapsize / st.ms_psize;
    uint64_t tail = total > info.me_last_pgno + 1 ? total - info.me_last_pgno - 1 : 0;
    uint64_t reserve = total / 128 > S_RESERVE_MIN_PAGES ? total / 128 : S_RESERVE_MIN_PAGES;
    uint64_t need = 2 * (add + 32 * n) / st.ms_psize + 32 + reserve;
    if (tail >= need || s_free_pages(self, &free_pages) != AW_OK || tail + free_pages >= need)
        return 0;
    return (need - tail - free_pages) * st.ms_psize;
}

/* ------------------------------------------------------------ metadata */

static void s_lane_pack(const aw_lane_info *li, uint8_t v[S_LANE_VAL])
{
    const uint64_t f[6] = {li->head, li->first, li->acked, li->bytes, li->count, li->acked_bytes};
    for (int i = 0; i < 6; i++)
        aw_put_be64(v + 8 * i, f[i]);
}

/* Unpacks a lane value; AW_ECORRUPT when it breaks the lane invariants. */
static int s_lane_unpack(const MDB_val *v, aw_lane_info *li)
{
    if (v->mv_size != S_LANE_VAL)
        return AW_ECORRUPT;
    const uint8_t *p = v->mv_data;
    li->head = aw_get_be64(p);
    li->first = aw_get_be64(p + 8);
    li->acked = aw_get_be64(p + 16);
    li->bytes = aw_get_be64(p + 24);
    li->count = aw_get_be64(p + 32);
    li->acked_bytes = aw_get_be64(p + 40);
    if (li->first == 0 || li->first > li->head + 1 || li->count != li->head + 1 - li->first ||
        li->acked > li->head || li->acked_bytes > li->bytes)
        return AW_ECORRUPT;
    return AW_OK;
}

static int s_meta_put(MDB_txn *txn, MDB_dbi dbi, const char *key, const void *val, size_t len)
{
    MDB_val k = {strlen(key), (void *)key}, v = {len, (void *)val};
    return mdb_put(txn, dbi, &k, &v, 0);
}

static int s_meta_put64(MDB_txn *txn, MDB_dbi dbi, const char *key, uint64_t val)
{
    uint8_t b[8];
    aw_put_be64(b, val);
    return s_meta_put(txn, dbi, key, b, sizeof b);
}

/* Reads a BE64 meta value; AW_ENOTFOUND when absent, AW_ECORRUPT when malformed. */
static int s_meta_get64(MDB_txn *txn, MDB_dbi dbi, const char *key, uint64_t *val)
{
    MDB_val k = {strlen(key), (void *)key}, v;
    int mrc = mdb_get(txn, dbi, &k, &v);
    if (mrc)
        return s_err(mrc);
    if (v.mv_size != 8)
        return AW_ECORRUPT;
    *val = aw_get_be64(v.mv_data);
    return AW_OK;
}

static int s_random64(uint64_t *out)
{
    do {
        ssize_t n = getrandom(out, sizeof *out, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n != (ssize_t)sizeof *out)
            return AW_EIO;
    } while (*out == 0);
    return AW_OK;
}

/* Writes the metadata of a new store: format, epoch, empty lanes. */
static int s_meta_create(aw_store_t *self, MDB_txn *txn)
{
    MDB_stat st;
    int rc = s_err(mdb_stat(txn, self->meta, &st));
    if (rc || st.ms_entries != 0)
        return rc ? rc : AW_ECORRUPT; /* meta without a format: not ours */
    if ((rc = s_random64(&self->epoch)) != AW_OK)
        return rc;
    int mrc = s_meta_put64(txn, self->meta, "format", AW_STORE_FORMAT);
    if (!mrc)
        mrc = s_meta_put64(txn, self->meta, "epoch", self->epoch);
    if (!mrc)
        mrc = s_meta_put64(txn, self->meta, "created_ms", (uint64_t)s_now(self));
    if (!mrc)
        mrc = s_meta_put64(txn, self->meta, "hlc", 0);
    for (int l = 0; l < AW_LANE_COUNT && !mrc; l++) {
        uint8_t v[S_LANE_VAL];
        self->lanes[l] = (aw_lane_info){.first = 1};
        s_lane_pack(&self->lanes[l], v);
        mrc = s_meta_put(txn, self->meta, s_lane_keys[l], v, sizeof v);
    }
    return s_err(mrc);
}

/* Reads the lanes and the HLC floor as committed; AW_ECORRUPT when missing. */
static int s_positions_load(const aw_store_t *self, MDB_txn *txn, aw_lane_info *lanes,
                            uint64_t *hlc)
{
    int rc = s_meta_get64(txn, self->meta, "hlc", hlc);
    if (rc)
        return rc == AW_ENOTFOUND ? AW_ECORRUPT : rc;
    for (int l = 0; l < AW_LANE_COUNT && rc == AW_OK; l++) {
        MDB_val k = {strlen(s_lane_keys[l]), (void *)s_lane_keys[l]}, v;
        int mrc = mdb_get(txn, self->meta, &k, &v);
        if (mrc)
            return mrc == MDB_NOTFOUND ? AW_ECORRUPT : s_err(mrc);
        rc = s_lane_unpack(&v, &lanes[l]);
    }
    return rc;
}

/* Loads the metadata; AW_ENOTFOUND for a new (empty) store. */
static int s_meta_load(aw_store_t *self, MDB_txn *txn)
{
    uint64_t format = 0;
    int rc = s_meta_get64(txn, self->meta, "format", &format);
    if (rc)
        return rc;
    if (format != AW_STORE_FORMAT)
        return AW_ECORRUPT;
    if ((rc = s_meta_get64(txn, self->meta, "epoch", &self->epoch)) != AW_OK)
        return rc == AW_ENOTFOUND ? AW_ECORRUPT : rc;
    if ((rc = s_positions_load(self, txn, self->lanes, &self->hlc)) != AW_OK)
        return rc;
    return self->epoch ? AW_OK : AW_ECORRUPT;
}

/* Checks that each log's first and last keys and count match its metadata. */
static int s_check_log(aw_store_t *self, MDB_txn *txn, aw_lane lane)
{
    const aw_lane_info *li = &self->lanes[lane];
    MDB_cursor *cur;
    MDB_val k, v;
    MDB_stat st;
    int mrc = mdb_stat(txn, self->log[lane], &st);
    if (mrc)
        return s_err(mrc);
    if (st.ms_entries != li->count)
        return AW_ECORRUPT;
    if (li->count == 0)
        return AW_OK;
    if ((mrc = mdb_cursor_open(txn, self->log[lane], &cur)) != MDB_SUCCESS)
        return s_err(mrc);
    int rc = AW_ECORRUPT;
    if (mdb_cursor_get(cur, &k, &v, MDB_FIRST) == MDB_SUCCESS && k.mv_size == 8 &&
        aw_get_be64(k.mv_data) == li->first &&
        mdb_cursor_get(cur, &k, &v, MDB_LAST) == MDB_SUCCESS && k.mv_size == 8 &&
        aw_get_be64(k.mv_data) == li->head)
        rc = AW_OK;
    mdb_cursor_close(cur);
    return rc;
}

/* Opens the store's own databases and loads (or creates) the metadata. */
static int s_bootstrap(aw_store_t *self)
{
    MDB_txn *txn;
    int mrc = mdb_txn_begin(self->env, NULL, 0, &txn);
    if (mrc)
        return s_err(mrc);
    for (int l = 0; l < AW_LANE_COUNT && !mrc; l++)
        mrc = mdb_dbi_open(txn, s_log_names[l], MDB_CREATE, &self->log[l]);
    if (!mrc)
        mrc = mdb_dbi_open(txn, "meta", MDB_CREATE, &self->meta);
    int rc = s_err(mrc);
    if (!rc)
        rc = s_meta_load(self, txn);
    if (rc == AW_ENOTFOUND)
        rc = s_meta_create(self, txn);
    for (int l = 0; l < AW_LANE_COUNT && !rc; l++)
        rc = s_check_log(self, txn, l);
    if (rc) {
        mdb_txn_abort(txn);
        return rc;
    }
    /* What a new process finds is what survived: on disk, or in the page
     * cache of a kernel that will write it (only a power loss drops it). */
    for (int l = 0; l < AW_LANE_COUNT; l++)
        self->durable[l] = self->lanes[l].head;
    return s_err(mdb_txn_commit(txn));
}

/* Opens an existing database in @p txn; AW_ENOTFOUND when it was never made. */
static int s_dbi_find(MDB_txn *txn, const char *name, MDB_dbi *dbi)
{
    int mrc = mdb_dbi_open(txn, name, 0, dbi);
    return mrc == MDB_INCOMPATIBLE ? AW_ECORRUPT : s_err(mrc);
}

/*
 * s_bootstrap() of a read-only handle: finds the store's databases and
 * loads the metadata; AW_ENOTFOUND when they were never made (nothing is
 * created). The read transaction is committed so the handles stay open.
 */
static int s_bootstrap_ro(aw_store_t *self)
{
    MDB_txn *txn;
    int mrc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn);
    if (mrc == MDB_MAP_RESIZED) { /* the writer grew the map since our open */
        if (!(mrc = mdb_env_set_mapsize(self->env, 0)))
            mrc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn);
        s_refresh_map_size(self);
    }
    int rc = s_err(mrc);
    if (rc)
        return rc;
    for (int l = 0; l < AW_LANE_COUNT && !rc; l++)
        rc = s_dbi_find(txn, s_log_names[l], &self->log[l]);
    if (!rc)
        rc = s_dbi_find(txn, "meta", &self->meta);
    if (!rc)
        rc = s_meta_load(self, txn);
    for (int l = 0; l < AW_LANE_COUNT && !rc; l++)
        rc = s_check_log(self, txn, l);
    if (rc) {
        mdb_txn_abort(txn);
        return rc;
    }
    return s_err(mdb_txn_commit(txn));
}

/* ------------------------------------------------------------ open / close */

/* A read-only open needs the data file: AW_ENOTFOUND, AW_EPERM or AW_OK. */
static int s_check_existing(const char *path)
{
    size_t len = strlen(path) + sizeof "/data.mdb";
    char *file = malloc(len);
    if (!file)
        return AW_ENOMEM;
    snprintf(file, len, "%s/data.mdb", path);
    struct stat st;
    int rc = AW_OK;
    if (stat(file, &st) != 0)
        rc = errno == ENOENT || errno == ENOTDIR ? AW_ENOTFOUND : s_err(errno);
    else if (!S_ISREG(st.st_mode))
        rc = AW_ENOTFOUND;
    free(file);
    return rc;
}

/* Creates @p path and its missing parents with mode 0700. */
static int s_mkdirs(const char *path)
{
    char *p = strdup(path);
    if (!p)
        return AW_ENOMEM;
    int rc = AW_OK;
    for (char *s = p + 1; rc == AW_OK; s++) {
        char c = *s;
        if (c != '/' && c != '\0')
            continue;
        *s = '\0';
        if (mkdir(p, 0700) != 0 && errno != EEXIST)
            rc = s_err(errno);
        *s = c;
        if (c == '\0')
            break;
    }
    free(p);
    struct stat st;
    if (rc == AW_OK && (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)))
        rc = AW_EIO;
    return rc;
}

/* Copies the options and applies the defaults. */
static int s_init(aw_store_t *self, const aw_store_opts *opts)
{
    aw_store_opts *o = &self->opts;
    *o = *opts;
    if (!o->map_size)
        o->map_size = S_DEFAULT_MAP;
    if (o->map_max < o->map_size)
        o->map_max = o->map_size;
    if (!o->max_tables)
        o->max_tables = S_DEFAULT_TABLES;
    if (!opts->path[0] || o->retention_ms < 0 || o->max_tables > S_MAX_TABLES ||
        (o->durability != AW_DURABLE_FSYNC && o->durability != AW_DURABLE_NOSYNC))
        return AW_EINVAL;
    self->path = strdup(opts->path);
    self->tables = calloc(o->max_tables, sizeof *self->tables);
    if (!self->path || !self->tables)
        return AW_ENOMEM;
    o->path = self->path;
    return AW_OK;
}

/*
 * Gives the map headroom at open: LMDB shrinks a configured map to the
 * used size when the file holds more, which would make the first write
 * fail.
 */
static void s_fit_map(aw_store_t *self)
{
    MDB_envinfo info;
    MDB_stat st;
    if (mdb_env_info(self->env, &info) || mdb_env_stat(self->env, &st))
        return;
    uint64_t used = (uint64_t)(info.me_last_pgno + 1) * st.ms_psize;
    if (used + self->map_size / 8 > self->map_size)
        s_grow_locked(self);
}

/* Creates and opens the LMDB environment; clears stale reader slots. */
static int s_env_open_flags(aw_store_t *self)
{
    const aw_store_opts *o = &self->opts;
    unsigned flags = MDB_NOTLS | (o->durability == AW_DURABLE_NOSYNC ? MDB_NOSYNC : 0) |
                     (self->writemap ? MDB_WRITEMAP : 0) | (o->read_only ? MDB_RDONLY : 0);
    int mrc = mdb_env_create(&self->env);
    if (mrc)
        return s_err(mrc);
    /* read-only: 0 = the map size the writer recorded in the file */
    if (!(mrc = mdb_env_set_mapsize(self->env, o->read_only ? 0 : o->map_size)) &&
        !(mrc = mdb_env_set_maxdbs(self->env, S_CORE_DBS + o->max_tables)) &&
        !(mrc = mdb_env_set_maxreaders(self->env, S_MAX_READERS)))
        mrc = mdb_env_open(self->env, self->path, flags, 0600);
    if (mrc) {
        mdb_env_close(self->env);
        self->env = NULL;
        return s_err(mrc);
    }
    s_refresh_map_size(self);
    if (o->read_only)
        return AW_OK;
    int dead = 0;
    mdb_reader_check(self->env, &dead);
    s_fit_map(self);
    return AW_OK;
}

/*
 * AW_DURABLE_NOSYNC opens with MDB_WRITEMAP (a commit writes into the map:
 * no pwrite/writev per commit) when the map can be reserved on disk, and
 * without it otherwise (store.h, Durability).
 */
static int s_env_open(aw_store_t *self)
{
    self->writemap = self->opts.durability == AW_DURABLE_NOSYNC && !self->opts.read_only;
    int rc = s_env_open_flags(self);
    if (rc == AW_OK && self->writemap && s_reserve(self) != 0) {
        mdb_env_close(self->env);
        self->env = NULL;
        self->writemap = false;
        rc = s_env_open_flags(self);
    }
    return rc;
}

static void s_free(aw_store_t *self)
{
    for (unsigned i = 0; i < self->ntables; i++)
        free(self->tables[i].name);
    free(self->tables);
    free(self->path);
    pthread_mutex_destroy(&self->writer);
    pthread_mutex_destroy(&self->mu);
    pthread_cond_destroy(&self->idle);
    free(self);
}

int aw_store_open(const aw_store_opts *opts, aw_store_t **out)
{
    if (!opts || !opts->path || !out)
        return AW_EINVAL;
    *out = NULL;
    aw_store_t *self = calloc(1, sizeof *self);
    if (!self)
        return AW_ENOMEM;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&self->idle, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&self->writer, NULL);
    pthread_mutex_init(&self->mu, NULL);
    int rc = s_init(self, opts);
    if (!rc)
        rc = opts->read_only ? s_check_existing(self->path) : s_mkdirs(self->path);
    if (!rc)
        rc = s_env_open(self);
    if (rc)
        goto out_free;
    if ((rc = opts->read_only ? s_bootstrap_ro(self) : s_bootstrap(self)) != AW_OK)
        goto out_close_env;
    *out = self;
    return AW_OK;
out_close_env:
    mdb_env_close(self->env);
out_free:
    s_free(self);
    return rc;
}

void aw_store_destroy(aw_store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    aw_store_t *self = *self_p;
    *self_p = NULL;
    mdb_env_close(self->env);
    s_free(self);
}

uint64_t aw_store_epoch(const aw_store_t *self)
{
    return self ? self->epoch : 0;
}

int aw_store_lane_info(aw_store_t *self, aw_lane lane, aw_lane_info *info)
{
    if (!self || !info || !s_lane_ok(lane))
        return AW_EINVAL;
    pthread_mutex_lock(&self->mu);
    *info = self->lanes[lane];
    if (self->opts.durability == AW_DURABLE_NOSYNC && !self->opts.read_only)
        info->durable = self->durable[lane] < info->head ? self->durable[lane] : info->head;
    else
        info->durable = info->head;
    pthread_mutex_unlock(&self->mu);
    return AW_OK;
}

uint64_t aw_store_hlc_floor(const aw_store_t *self)
{
    if (!self)
        return 0;
    aw_store_t *s = (aw_store_t *)self; /* the mutex is not part of the value */
    pthread_mutex_lock(&s->mu);
    uint64_t hlc = s->hlc;
    pthread_mutex_unlock(&s->mu);
    return hlc;
}

/* ------------------------------------------------------------ transactions */

static int s_txn_abort(aw_txn_t *t, int rc);

/* The budget in force: max_bytes, lowered by a map or disk that filled. */
static uint64_t s_budget_locked(const aw_store_t *self)
{
    if (!self->opts.max_bytes)
        return UINT64_MAX;
    if (self->has_cap && self->cap < self->opts.max_bytes)
        return self->cap;
    return self->opts.max_bytes;
}

/*
 * Begins @p t. A write txn takes the writer mutex and its own copy of the
 * lanes, read from meta inside the txn: exact even after another process
 * wrote the store.
 */
static int s_txn_open(aw_store_t *self, aw_txn_t *t, bool write)
{
    memset(t, 0, sizeof *t);
    t->store = self;
    t->write = write;
    if (!write)
        return s_mdb_begin(self, MDB_RDONLY, false, &t->txn);
    if (self->opts.read_only)
        return AW_EPERM;
    pthread_mutex_lock(&self->writer);
    int rc = s_mdb_begin(self, 0, false, &t->txn);
    if (rc) {
        pthread_mutex_unlock(&self->writer);
        return rc;
    }
    if ((rc = s_positions_load(self, t->txn, t->lanes, &t->hlc)) != AW_OK)
        return s_txn_abort(t, rc);
    pthread_mutex_lock(&self->mu);
    t->max = s_budget_locked(self);
    pthread_mutex_unlock(&self->mu);
    return AW_OK;
}

/* Releases what s_txn_open() took, then recovers from a lack of room. */
static void s_txn_end(aw_txn_t *t)
{
    aw_store_t *self = t->store;
    t->txn = NULL;
    s_gate_leave(self);
    if (t->full)
        t->grew = s_on_full(self, t->full, t->deficit);
    if (t->write)
        pthread_mutex_unlock(&self->writer);
}

static int s_txn_abort(aw_txn_t *t, int rc)
{
    mdb_txn_abort(t->txn);
    s_txn_end(t);
    return rc;
}

/*
 * Converts an LMDB failure inside @p t. After most errors LMDB accepts only
 * an abort: those are kept in t->err and returned again by later calls and
 * by the commit.
 */
static int s_txn_fail(aw_txn_t *t, int mrc)
{
    int full = s_full_kind(t->store, mrc);
    int rc = full ? AW_EFULL : s_err(mrc);
    if (mrc == MDB_NOTFOUND || mrc == MDB_KEYEXIST || mrc == MDB_BAD_VALSIZE || mrc == EINVAL ||
        mrc == EACCES)
        return rc;
    if (!t->err) {
        t->err = rc;
        t->full = full;
    }
    return rc;
}

/* Keeps @p rc as the txn's error: used where a half-done step must not commit. */
static int s_poison(aw_txn_t *t, int rc)
{
    if (rc && !t->err)
        t->err = rc;
    return rc;
}

/* Writes the lanes and the HLC floor that @p t changed. */
static int s_meta_flush(aw_txn_t *t)
{
    const aw_store_t *self = t->store;
    int mrc = MDB_SUCCESS;
    for (int l = 0; l < AW_LANE_COUNT && !mrc; l++) {
        uint8_t v[S_LANE_VAL];
        if (!t->lane_dirty[l])
            continue;
        s_lane_pack(&t->lanes[l], v);
        mrc = s_meta_put(t->txn, self->meta, s_lane_keys[l], v, sizeof v);
    }
    if (!mrc && t->hlc_dirty)
        mrc = s_meta_put64(t->txn, self->meta, "hlc", t->hlc);
    return mrc ? s_txn_fail(t, mrc) : AW_OK;
}

/* Commits @p t and, only then, publishes its lane positions and HLC. */
static int s_txn_commit(aw_txn_t *t)
{
    aw_store_t *self = t->store;
    if (!t->write)
        return s_txn_abort(t, AW_OK);
    int rc = t->err ? t->err : s_meta_flush(t);
    if (rc)
        return s_txn_abort(t, rc);
    int mrc = mdb_txn_commit(t->txn);
    if (mrc == MDB_SUCCESS) {
        pthread_mutex_lock(&self->mu);
        memcpy(self->lanes, t->lanes, sizeof self->lanes);
        if (t->hlc > self->hlc)
            self->hlc = t->hlc;
        pthread_mutex_unlock(&self->mu);
    } else {
        rc = s_txn_fail(t, mrc);
    }
    s_txn_end(t);
    return rc;
}

static int s_begin_heap(aw_store_t *self, bool write, aw_txn_t **out)
{
    if (!self || !out)
        return AW_EINVAL;
    *out = NULL;
    aw_txn_t *t = malloc(sizeof *t);
    if (!t)
        return AW_ENOMEM;
    int rc = s_txn_open(self, t, write);
    if (rc) {
        free(t);
        return rc;
    }
    *out = t;
    return AW_OK;
}

int aw_store_begin(aw_store_t *self, aw_txn_t **out)
{
    return s_begin_heap(self, true, out);
}

int aw_store_begin_read(aw_store_t *self, aw_txn_t **out)
{
    return s_begin_heap(self, false, out);
}

int aw_txn_commit(aw_txn_t **txn_p)
{
    if (!txn_p || !*txn_p)
        return AW_EINVAL;
    aw_txn_t *t = *txn_p;
    *txn_p = NULL;
    int rc = s_txn_commit(t);
    free(t);
    return rc;
}

void aw_txn_abort(aw_txn_t **txn_p)
{
    if (!txn_p || !*txn_p)
        return;
    aw_txn_t *t = *txn_p;
    *txn_p = NULL;
    s_txn_abort(t, AW_OK);
    free(t);
}

void aw_txn_note_hlc(aw_txn_t *txn, uint64_t hlc)
{
    if (txn && txn->write && hlc > txn->hlc) {
        txn->hlc = hlc;
        txn->hlc_dirty = true;
    }
}

/* A usable write txn and a valid lane, or the error to return. */
static int s_check_write(const aw_txn_t *t, aw_lane lane)
{
    if (!t || !s_lane_ok(lane))
        return AW_EINVAL;
    if (!t->write)
        return AW_ESTATE;
    return t->err;
}

/* ------------------------------------------------------------ the log */

/*
 * Appends one record to @p lane under the next seq (no budget check):
 * MDB_APPEND, with the header written straight into the reserved value.
 */
static int s_put_record(aw_txn_t *t, aw_lane lane, int64_t now, const void *rec, size_t len,
                        uint64_t *seq)
{
    aw_lane_info *li = &t->lanes[lane];
    uint8_t kb[8];
    aw_put_be64(kb, li->head + 1);
    MDB_val k = {sizeof kb, kb}, v = {AW_STORE_HEADER + len, NULL};
    int mrc = mdb_put(t->txn, t->store->log[lane], &k, &v, MDB_APPEND | MDB_RESERVE);
    if (mrc == MDB_KEYEXIST)
        return s_poison(t, AW_ECORRUPT); /* the log is ahead of its metadata */
    if (mrc)
        return s_txn_fail(t, mrc);
    aw_put_be64(v.mv_data, (uint64_t)now);
    if (len)
        memcpy((uint8_t *)v.mv_data + AW_STORE_HEADER, rec, len);
    li->head++;
    li->count++;
    li->bytes += AW_STORE_HEADER + len;
    t->lane_dirty[lane] = true;
    if (seq)
        *seq = li->head;
    return AW_OK;
}

/* ------------------------------------------------------------ pruning */

/*
 * The smallest total the budget rule can reach: the unacked urgent bytes,
 * plus the unacked bulk bytes or, when dropping them saves more, the gap
 * record that replaces them.
 */
static uint64_t s_min_total(const aw_lane_info *l)
{
    uint64_t bulk = l[AW_LANE_BULK].bytes - l[AW_LANE_BULK].acked_bytes;
    return l[AW_LANE_URGENT].bytes - l[AW_LANE_URGENT].acked_bytes +
           (bulk < S_GAP_RESERVE ? bulk : S_GAP_RESERVE);
}

/*
 * Picks how far to prune before adding @p add bytes under budget @p max:
 * to 90% of the budget when that is reachable, else just to the budget.
 * Returns false when even removing all that may go leaves no room.
 */
static bool s_room_target(const aw_lane_info *l, uint64_t max, uint64_t add, uint64_t *target)
{
    uint64_t min = s_min_total(l);
    if (add > max || min > max - add)
        return false;
    uint64_t low = max - max / 10;
    *target = (add <= low && min <= low - add) ? low - add : max - add;
    return true;
}

static bool s_chunk_left(const aw_txn_t *t)
{
    return t->pruned < S_CHUNK_RECORDS && t->pruned_bytes < S_CHUNK_BYTES;
}

static int s_cursor(aw_txn_t *t, MDB_dbi dbi, MDB_cursor **cur)
{
    int mrc = mdb_cursor_open(t->txn, dbi, cur);
    return mrc ? s_txn_fail(t, mrc) : AW_OK;
}

/* Positions @p cur on the lane's oldest record: its stored size and time. */
static int s_oldest(aw_txn_t *t, MDB_cursor *cur, aw_lane lane, size_t *size, int64_t *stamp)
{
    MDB_val k, v;
    int mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    if (mrc)
        return mrc == MDB_NOTFOUND ? AW_ECORRUPT : s_txn_fail(t, mrc);
    if (k.mv_size != 8 || v.mv_size < AW_STORE_HEADER ||
        aw_get_be64(k.mv_data) != t->lanes[lane].first)
        return AW_ECORRUPT;
    *size = v.mv_size;
    *stamp = (int64_t)aw_get_be64(v.mv_data);
    return AW_OK;
}

/* Deletes the record s_oldest() found and moves the lane's first past it. */
static int s_drop(aw_txn_t *t, MDB_cursor *cur, aw_lane lane, size_t size)
{
    int mrc = mdb_cursor_del(cur, 0);
    if (mrc)
        return s_txn_fail(t, mrc);
    aw_lane_info *li = &t->lanes[lane];
    if (li->first <= li->acked)
        li->acked_bytes -= size;
    li->first++;
    li->count--;
    li->bytes -= size;
    t->lane_dirty[lane] = true;
    t->pruned++;
    t->pruned_bytes += size;
    return AW_OK;
}

/*
 * Removes acked records of @p lane, oldest first, while the total is above
 * @p target and the record's store time is before @p cutoff (retention
 * passes target 0; the budget passes cutoff INT64_MAX).
 */
static int s_prune_acked(aw_txn_t *t, aw_lane lane, uint64_t target, int64_t cutoff,
                         aw_prune_report *r)
{
    aw_lane_info *li = &t->lanes[lane];
    MDB_cursor *cur;
    int rc = s_cursor(t, t->store->log[lane], &cur);
    while (rc == AW_OK && li->count && li->first <= li->acked && s_total(t->lanes) > target &&
           s_chunk_left(t)) {
        size_t size;
        int64_t stamp;
        rc = s_oldest(t, cur, lane, &size, &stamp);
        if (rc || stamp >= cutoff)
            break;
        if ((rc = s_drop(t, cur, lane, size)) == AW_OK) {
            r->acked_removed[lane]++;
            r->bytes_freed += size;
        }
    }
    if (cur)
        mdb_cursor_close(cur);
    return rc;
}

/* The HLC stamp of a gap record: the caller's clock, else above the floor. */
static uint64_t s_gap_hlc(const aw_txn_t *t, int64_t now)
{
    const aw_store_opts *o = &t->store->opts;
    if (o->hlc_issue)
        return o->hlc_issue(o->clock_arg, now);
    uint64_t wall = now > 0 ? ((uint64_t)now & ((UINT64_C(1) << 48) - 1)) << 16 : 0;
    return wall > t->hlc ? wall : t->hlc + 1;
}

/* Appends the gap record for dropped bulk records from..to to the urgent lane. */
static int s_write_gap(aw_txn_t *t, uint64_t from, uint64_t to, aw_prune_report *r)
{
    int64_t now = s_now(t->store);
    uint64_t hlc = s_gap_hlc(t, now);
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = aw_codec_gap_encode(hlc, ANWANG__LANE__LANE_BULK, from, to, now, &buf, &len);
    if (rc == AW_OK) {
        rc = s_put_record(t, AW_LANE_URGENT, now, buf, len, NULL);
        free(buf);
    }
    if (rc)
        return s_poison(t, rc); /* never commit a drop without its gap */
    aw_txn_note_hlc(t, hlc);
    r->gaps++;
    return AW_OK;
}

/*
 * Drops the oldest (unacked) bulk records while the total, with room for
 * the gap record, is above @p target; then records the dropped range as
 * one gap record in the urgent lane.
 */
static int s_prune_unacked(aw_txn_t *t, uint64_t target, aw_prune_report *r)
{
    aw_lane_info *li = &t->lanes[AW_LANE_BULK];
    uint64_t from = li->first, n = 0;
    MDB_cursor *cur;
    int rc = s_cursor(t, t->store->log[AW_LANE_BULK], &cur);
    while (rc == AW_OK && li->count && s_total(t->lanes) + S_GAP_RESERVE > target &&
           s_chunk_left(t)) {
        size_t size;
        int64_t stamp;
        rc = s_oldest(t, cur, AW_LANE_BULK, &size, &stamp);
        if (rc == AW_OK)
            rc = s_drop(t, cur, AW_LANE_BULK, size);
        if (rc == AW_OK) {
            n++;
            r->bytes_freed += size;
        }
    }
    if (cur)
        mdb_cursor_close(cur);
    if (rc)
        return n ? s_poison(t, rc) : rc;
    r->unacked_removed += n;
    return n ? s_write_gap(t, from, from + n - 1, r) : AW_OK;
}

/*
 * Prunes inside @p t by the budget rule until the total is ≤ @p target:
 * acked bulk, then acked urgent, then unacked bulk with a gap record.
 * Returns AW_OK when the target is reached or nothing more may go, and
 * AW_EAGAIN when the chunk bound stopped it first.
 */
static int s_make_room(aw_txn_t *t, uint64_t target, aw_prune_report *r)
{
    int rc = s_prune_acked(t, AW_LANE_BULK, target, INT64_MAX, r);
    if (rc == AW_OK)
        rc = s_prune_acked(t, AW_LANE_URGENT, target, INT64_MAX, r);
    if (rc == AW_OK && s_total(t->lanes) > target && s_chunk_left(t))
        rc = s_prune_unacked(t, target, r);
    if (rc)
        return rc;
    return s_total(t->lanes) > target && !s_chunk_left(t) ? AW_EAGAIN : AW_OK;
}

/* Removes acked records of both lanes that are older than the retention. */
static int s_prune_retention(aw_txn_t *t, int64_t now, aw_prune_report *r)
{
    int64_t ret = t->store->opts.retention_ms;
    if (ret <= 0)
        return AW_OK;
    int64_t cutoff = now > INT64_MIN + ret ? now - ret : INT64_MIN;
    int rc = s_prune_acked(t, AW_LANE_URGENT, 0, cutoff, r);
    return rc ? rc : s_prune_acked(t, AW_LANE_BULK, 0, cutoff, r);
}

static void s_report_add(aw_prune_report *to, const aw_prune_report *r)
{
    for (int l = 0; l < AW_LANE_COUNT; l++)
        to->acked_removed[l] += r->acked_removed[l];
    to->unacked_removed += r->unacked_removed;
    to->gaps += r->gaps;
    to->bytes_freed += r->bytes_freed;
}

/*
 * LMDB reuses the pages freed by transaction N only from transaction N+2
 * on. After pruning, one small commit (the prune time in meta) makes the
 * freed pages usable by the next write, which matters when the map is full.
 */
static int s_settle(aw_store_t *self, int64_t now)
{
    aw_txn_t t;
    int rc = s_txn_open(self, &t, true);
    if (rc)
        return rc;
    int mrc = s_meta_put64(t.txn, self->meta, "pruned_ms", (uint64_t)now);
    if (mrc)
        return s_txn_abort(&t, s_txn_fail(&t, mrc));
    return s_txn_commit(&t);
}

/*
 * One prune transaction: retention, then the budget when the lanes are
 * over it. Commits only when something was removed; *more is set when the
 * chunk bound stopped it.
 */
static int s_prune_chunk(aw_store_t *self, int64_t now, aw_prune_report *total, bool *more)
{
    aw_prune_report r = {0};
    aw_txn_t t;
    uint64_t target;
    int rc = s_txn_open(self, &t, true);
    if (rc)
        return rc;
    rc = s_prune_retention(&t, now, &r);
    if (rc == AW_OK && s_total(t.lanes) > t.max)
        rc = s_make_room(&t, s_room_target(t.lanes, t.max, 0, &target) ? target : 0, &r);
    *more = rc == AW_EAGAIN || (rc == AW_OK && !s_chunk_left(&t));
    if (rc == AW_EAGAIN)
        rc = AW_OK;
    if (rc || t.pruned == 0)
        return s_txn_abort(&t, rc);
    if ((rc = s_txn_commit(&t)) == AW_OK)
        s_report_add(total, &r);
    return rc;
}

int aw_store_prune(aw_store_t *self, int64_t now_ms, aw_prune_report *report)
{
    aw_prune_report local;
    aw_prune_report *r = report ? report : &local;
    memset(r, 0, sizeof *r);
    if (!self)
        return AW_EINVAL;
    if (self->opts.read_only)
        return AW_EPERM;
    bool more = true;
    int rc = AW_OK;
    while (rc == AW_OK && more)
        rc = s_prune_chunk(self, now_ms, r, &more);
    bool removed = r->acked_removed[0] || r->acked_removed[1] || r->unacked_removed;
    if (rc == AW_OK && removed)
        rc = s_settle(self, now_ms);
    return rc;
}

/* ------------------------------------------------------------ appends */

/*
 * Makes room for a batch that does not fit: prunes one chunk in @p t and
 * commits it, then settles. Returns S_PRUNED (try again; b->more when the
 * target is not reached yet), or the lane's full error when even removing
 * all that may go leaves no room.
 */
static int s_prune_for(aw_txn_t *t, s_batch *b)
{
    aw_prune_report r = {0};
    uint64_t target;
    if (!s_room_target(t->lanes, t->max, b->add, &target))
        return s_txn_abort(t, s_full_err(b->lane));
    int rc = s_make_room(t, target, &r);
    b->more = rc == AW_EAGAIN;
    if (rc && rc != AW_EAGAIN)
        return s_txn_abort(t, rc);
    if (t->pruned == 0) /* at the target already (or nothing may go) */
        return s_txn_abort(t,
                           s_total(t->lanes) + b->add <= t->max ? S_PRUNED : s_full_err(b->lane));
    aw_store_t *self = t->store;
    if ((rc = s_txn_commit(t)) != AW_OK)
        return rc == AW_EFULL && t->grew ? S_GREW : rc;
    rc = s_settle(self, s_now(self));
    return rc ? rc : S_PRUNED;
}

/*
 * One attempt at an append: prunes a chunk when the batch does not fit
 * the budget (and on to 90% once begun), refuses when the map keeps no
 * room for pruning, else appends the batch and commits. S_GREW when the
 * map grew for a retry.
 */
static int s_append_once(aw_store_t *self, s_batch *b, uint64_t *first_seq)
{
    aw_txn_t t;
    int rc = s_txn_open(self, &t, true);
    if (rc)
        return rc;
    if (s_total(t.lanes) + b->add > t.max || b->more)
        return s_prune_for(&t, b);
    t.deficit = s_map_deficit(self, b->add, b->n);
    if (t.deficit) {
        t.full = S_FULL_MAP;
        s_txn_abort(&t, AW_EFULL);
        return t.grew ? S_GREW : AW_EFULL;
    }
    t.deficit = b->add; /* should LMDB still find the map full */
    int64_t now = s_now(self);
    uint64_t first = t.lanes[b->lane].head + 1;
    for (size_t i = 0; i < b->n && rc == AW_OK; i++)
        rc = s_put_record(&t, b->lane, now, b->recs[i], b->lens[i], NULL);
    aw_txn_note_hlc(&t, b->hlc);
    rc = rc ? s_txn_abort(&t, rc) : s_txn_commit(&t);
    if (rc == AW_OK)
        *first_seq = first;
    return rc == AW_EFULL && t.grew ? S_GREW : rc;
}

/* Validates a batch and sums its stored size. */
static int s_batch_init(s_batch *b, aw_lane lane, const void *const *recs, const size_t *lens,
                        size_t n, uint64_t hlc)
{
    *b = (s_batch){.lane = lane, .recs = recs, .lens = lens, .n = n, .hlc = hlc};
    if (!s_lane_ok(lane) || n == 0 || !recs || !lens)
        return AW_EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (!recs[i] && lens[i])
            return AW_EINVAL;
        if (lens[i] > UINT32_MAX - AW_STORE_HEADER)
            return AW_ETOOBIG;
        b->add += AW_STORE_HEADER + lens[i];
    }
    return AW_OK;
}

int aw_store_append(aw_store_t *self, aw_lane lane, const void *const *recs, const size_t *lens,
                    size_t n, uint64_t hlc, uint64_t *first_seq)
{
    s_batch b;
    uint64_t first = 0;
    int rc = s_batch_init(&b, lane, recs, lens, n, hlc);
    if (!self || !first_seq)
        rc = AW_EINVAL;
    else if (rc == AW_OK && self->opts.read_only)
        rc = AW_EPERM;
    for (int grows = 0; rc == AW_OK;) {
        rc = s_append_once(self, &b, &first);
        if (rc == S_PRUNED)
            rc = AW_OK;
        else if (rc == S_GREW)
            rc = ++grows < S_MAX_GROWS ? AW_OK : AW_EFULL;
        else if (rc == AW_OK)
            break;
    }
    if (rc == AW_OK)
        *first_seq = first;
    return rc;
}

/* Makes room for @p add bytes inside a caller's txn (bounded pruning). */
static int s_room_in_txn(aw_txn_t *t, aw_lane lane, uint64_t add)
{
    aw_prune_report r = {0};
    uint64_t target;
    if (!s_room_target(t->lanes, t->max, add, &target))
        return s_full_err(lane);
    int rc = s_make_room(t, target, &r);
    if (rc && rc != AW_EAGAIN)
        return rc;
    return s_total(t->lanes) + add > t->max ? AW_EFULL : AW_OK;
}

/*
 * The map check of a caller txn's append, done for S_ROOM_STEP bytes at a
 * time so that a txn of many small appends pays for it rarely.
 */
static int s_txn_map_room(aw_txn_t *t, uint64_t add)
{
    if (add <= t->room) {
        t->room -= add;
        return AW_OK;
    }
    uint64_t ask = add < S_ROOM_STEP ? S_ROOM_STEP : add;
    uint64_t deficit = s_map_deficit(t->store, ask, 1 + ask / 64);
    if (deficit && ask > add)
        deficit = s_map_deficit(t->store, add, 1);
    if (deficit) {
        t->full = S_FULL_MAP; /* recovered when the txn ends */
        t->deficit += deficit;
        return AW_EFULL;
    }
    t->room = ask > add ? ask - add : 0;
    return AW_OK;
}

int aw_txn_append(aw_txn_t *txn, aw_lane lane, const void *rec, size_t len, uint64_t *seq)
{
    int rc = s_check_write(txn, lane);
    if (rc)
        return rc;
    if ((!rec && len) || len > UINT32_MAX - AW_STORE_HEADER)
        return AW_EINVAL;
    uint64_t add = AW_STORE_HEADER + len;
    if (s_total(txn->lanes) + add > txn->max && (rc = s_room_in_txn(txn, lane, add)) != AW_OK)
        return rc;
    if ((rc = s_txn_map_room(txn, add)) != AW_OK)
        return rc;
    return s_put_record(txn, lane, s_now(txn->store), rec, len, seq);
}

/* ------------------------------------------------------------ reads and acks */

/* Walks @p lane's log from @p from inside @p txn (see aw_store_read()). */
static int s_walk_log(aw_store_t *self, MDB_txn *txn, aw_lane lane, uint64_t from,
                      size_t max_records, size_t max_bytes, aw_store_read_fn fn, void *arg)
{
    MDB_cursor *cur;
    uint8_t kb[8];
    size_t n = 0, bytes = 0;
    int rc = AW_OK, mrc = mdb_cursor_open(txn, self->log[lane], &cur);
    if (mrc)
        return s_err(mrc);
    aw_put_be64(kb, from ? from : 1);
    MDB_val k = {sizeof kb, kb}, v;
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); mrc == MDB_SUCCESS;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != 8 || v.mv_size < AW_STORE_HEADER) {
            rc = AW_ECORRUPT;
            break;
        }
        size_t len = v.mv_size - AW_STORE_HEADER;
        if ((n && max_bytes && bytes + len > max_bytes) ||
            fn(arg, aw_get_be64(k.mv_data), (const uint8_t *)v.mv_data + AW_STORE_HEADER, len))
            break;
        bytes += len;
        if (++n == max_records)
            break;
    }
    if (rc == AW_OK && mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND)
        rc = s_err(mrc);
    mdb_cursor_close(cur);
    return rc;
}

int aw_store_read(aw_store_t *self, aw_lane lane, uint64_t from_seq, size_t max_records,
                  size_t max_bytes, aw_store_read_fn fn, void *arg)
{
    MDB_txn *txn;
    if (!self || !fn || !s_lane_ok(lane))
        return AW_EINVAL;
    int rc = s_mdb_begin(self, MDB_RDONLY, false, &txn);
    if (rc)
        return rc;
    rc = s_walk_log(self, txn, lane, from_seq, max_records, max_bytes, fn, arg);
    mdb_txn_abort(txn);
    s_gate_leave(self);
    return rc;
}

/* Sums the stored sizes of @p lane's records from..to that are still stored. */
static int s_sum_bytes(aw_txn_t *t, aw_lane lane, uint64_t from, uint64_t to, uint64_t *sum)
{
    MDB_cursor *cur;
    uint8_t kb[8];
    int rc = s_cursor(t, t->store->log[lane], &cur);
    if (rc)
        return rc;
    aw_put_be64(kb, from);
    MDB_val k = {sizeof kb, kb}, v;
    int mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    for (*sum = 0; mrc == MDB_SUCCESS && aw_get_be64(k.mv_data) <= to;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
        *sum += v.mv_size;
    mdb_cursor_close(cur);
    return mrc == MDB_SUCCESS || mrc == MDB_NOTFOUND ? AW_OK : s_txn_fail(t, mrc);
}

int aw_txn_mark_acked(aw_txn_t *txn, aw_lane lane, uint64_t seq)
{
    int rc = s_check_write(txn, lane);
    if (rc)
        return rc;
    aw_lane_info *li = &txn->lanes[lane];
    if (seq > li->head)
        return AW_ERANGE;
    if (seq <= li->acked)
        return AW_OK;
    uint64_t bytes;
    uint64_t from = li->acked + 1 > li->first ? li->acked + 1 : li->first;
    if ((rc = s_sum_bytes(txn, lane, from, seq, &bytes)) != AW_OK)
        return rc;
    li->acked = seq;
    li->acked_bytes += bytes;
    txn->lane_dirty[lane] = true;
    return AW_OK;
}

int aw_store_mark_acked(aw_store_t *self, aw_lane lane, uint64_t seq)
{
    aw_lane_info li;
    aw_txn_t t;
    int rc = aw_store_lane_info(self, lane, &li);
    if (rc)
        return rc;
    if (self->opts.read_only)
        return AW_EPERM;
    if (seq <= li.acked)
        return AW_OK;
    if ((rc = s_txn_open(self, &t, true)) != AW_OK)
        return rc;
    rc = aw_txn_mark_acked(&t, lane, seq);
    return rc ? s_txn_abort(&t, rc) : s_txn_commit(&t);
}

/* ------------------------------------------------------------ tables */

static bool s_reserved(const char *name)
{
    return !strcmp(name, "meta") || !strcmp(name, s_log_names[0]) || !strcmp(name, s_log_names[1]);
}

/* Opens (creating) a table in its own transaction; *dbi on success. */
static int s_table_create(aw_store_t *self, const char *name, MDB_dbi *dbi)
{
    aw_txn_t t;
    int rc = s_txn_open(self, &t, true);
    if (rc)
        return rc;
    int mrc = mdb_dbi_open(t.txn, name, MDB_CREATE, dbi);
    if (mrc)
        return s_txn_abort(&t, mrc == MDB_INCOMPATIBLE ? AW_EINVAL : s_txn_fail(&t, mrc));
    return s_txn_commit(&t);
}

/* Opens an existing table of a read-only store in a read transaction. */
static int s_table_find(aw_store_t *self, const char *name, MDB_dbi *dbi)
{
    MDB_txn *txn;
    int rc = s_mdb_begin(self, MDB_RDONLY, false, &txn);
    if (rc)
        return rc;
    rc = s_dbi_find(txn, name, dbi);
    if (rc)
        mdb_txn_abort(txn);
    else
        rc = s_err(mdb_txn_commit(txn));
    s_gate_leave(self);
    return rc;
}

int aw_store_table(aw_store_t *self, const char *name, aw_table_t *out)
{
    if (!self || !name || !out)
        return AW_EINVAL;
    size_t len = strnlen(name, S_MAX_NAME + 1);
    if (len == 0 || len > S_MAX_NAME || s_reserved(name))
        return AW_EINVAL;
    for (unsigned i = 0; i < self->ntables; i++) {
        if (!strcmp(self->tables[i].name, name)) {
            *out = i;
            return AW_OK;
        }
    }
    if (self->ntables >= self->opts.max_tables)
        return AW_ETOOBIG;
    char *copy = strdup(name);
    if (!copy)
        return AW_ENOMEM;
    MDB_dbi dbi;
    int rc =
        self->opts.read_only ? s_table_find(self, name, &dbi) : s_table_create(self, name, &dbi);
    if (rc)
        goto out_free_copy;
    self->tables[self->ntables] = (s_table){copy, dbi};
    *out = self->ntables++;
    return AW_OK;
out_free_copy:
    free(copy);
    return rc;
}

/* Checks a table access: txn usable, table known, key 1..511 bytes. */
static int s_table_key(const aw_txn_t *t, aw_table_t table, const void *key, size_t klen,
                       MDB_dbi *dbi)
{
    if (!t || table >= t->store->ntables || !key || klen == 0 || klen > S_MAX_KEY)
        return AW_EINVAL;
    *dbi = t->store->tables[table].dbi;
    return t->err;
}

int aw_txn_put(aw_txn_t *txn, aw_table_t table, const void *key, size_t klen, const void *val,
               size_t vlen)
{
    MDB_dbi dbi;
    int rc = s_table_key(txn, table, key, klen, &dbi);
    if (rc)
        return rc;
    if (!txn->write)
        return AW_ESTATE;
    if (!val && vlen)
        return AW_EINVAL;
    MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};
    int mrc = mdb_put(txn->txn, dbi, &k, &v, 0);
    return mrc ? s_txn_fail(txn, mrc) : AW_OK;
}

int aw_txn_get(aw_txn_t *txn, aw_table_t table, const void *key, size_t klen, const void **val,
               size_t *vlen)
{
    MDB_dbi dbi;
    int rc = s_table_key(txn, table, key, klen, &dbi);
    if (rc)
        return rc;
    if (!val || !vlen)
        return AW_EINVAL;
    MDB_val k = {klen, (void *)key}, v;
    int mrc = mdb_get(txn->txn, dbi, &k, &v);
    if (mrc)
        return s_txn_fail(txn, mrc);
    *val = v.mv_data;
    *vlen = v.mv_size;
    return AW_OK;
}

int aw_txn_del(aw_txn_t *txn, aw_table_t table, const void *key, size_t klen)
{
    MDB_dbi dbi;
    int rc = s_table_key(txn, table, key, klen, &dbi);
    if (rc)
        return rc;
    if (!txn->write)
        return AW_ESTATE;
    MDB_val k = {klen, (void *)key};
    int mrc = mdb_del(txn->txn, dbi, &k, NULL);
    return mrc ? s_txn_fail(txn, mrc) : AW_OK;
}

/* Bytewise key order, a shorter key before its extensions (LMDB's default). */
static int s_keycmp(const void *a, size_t alen, const void *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c ? c : (alen > blen) - (alen < blen);
}

static bool s_has_prefix(const MDB_val *k, const void *prefix, size_t plen)
{
    return k->mv_size >= plen && (plen == 0 || memcmp(k->mv_data, prefix, plen) == 0);
}

int aw_txn_scan(aw_txn_t *txn, aw_table_t table, const void *prefix, size_t plen, const void *from,
                size_t flen, aw_scan_fn fn, void *arg)
{
    if (!txn || !fn || table >= txn->store->ntables || (plen && !prefix) || (flen && !from))
        return AW_EINVAL;
    if (txn->err)
        return txn->err;
    plen = prefix ? plen : 0;
    flen = from ? flen : 0;
    MDB_val start = {plen, (void *)prefix}, k, v;
    if (flen && (plen == 0 || s_keycmp(from, flen, prefix, plen) > 0))
        start = (MDB_val){flen, (void *)from};
    MDB_cursor *cur;
    int mrc = mdb_cursor_open(txn->txn, txn->store->tables[table].dbi, &cur);
    if (mrc)
        return s_txn_fail(txn, mrc);
    k = start;
    mrc = mdb_cursor_get(cur, &k, &v, start.mv_size ? MDB_SET_RANGE : MDB_FIRST);
    for (; mrc == MDB_SUCCESS && s_has_prefix(&k, prefix, plen);
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
        if (fn(arg, k.mv_data, k.mv_size, v.mv_data, v.mv_size))
            break;
    mdb_cursor_close(cur);
    return mrc == MDB_SUCCESS || mrc == MDB_NOTFOUND ? AW_OK : s_txn_fail(txn, mrc);
}

/* ------------------------------------------------------------ maintenance */

int aw_store_sync(aw_store_t *self)
{
    if (!self)
        return AW_EINVAL;
    if (self->opts.read_only)
        return AW_EPERM;
    uint64_t heads[AW_LANE_COUNT];
    pthread_mutex_lock(&self->mu);
    for (int l = 0; l < AW_LANE_COUNT; l++)
        heads[l] = self->lanes[l].head;
    pthread_mutex_unlock(&self->mu);
    int mrc = mdb_env_sync(self->env, 1);
    if (mrc == 0) {
        pthread_mutex_lock(&self->mu);
        for (int l = 0; l < AW_LANE_COUNT; l++)
            if (heads[l] > self->durable[l])
                self->durable[l] = heads[l];
        pthread_mutex_unlock(&self->mu);
    }
    return mrc == ENOSPC || mrc == EIO ? AW_EIO : s_err(mrc);
}

int aw_store_check_readers(aw_store_t *self, int *cleared)
{
    int dead = 0;
    if (!self)
        return AW_EINVAL;
    int rc = s_err(mdb_reader_check(self->env, &dead));
    if (cleared)
        *cleared = dead;
    return rc;
}

int aw_store_usage(aw_store_t *self, uint64_t *used, uint64_t *map_size)
{
    MDB_envinfo info;
    MDB_stat st;
    if (!self)
        return AW_EINVAL;
    int mrc = mdb_env_info(self->env, &info);
    if (!mrc)
        mrc = mdb_env_stat(self->env, &st);
    if (mrc)
        return s_err(mrc);
    if (used)
        *used = (uint64_t)(info.me_last_pgno + 1) * st.ms_psize;
    if (map_size)
        *map_size = info.me_mapsize;
    return AW_OK;
}
