/*
 * dict_db - hash: and btree: tables in Berkeley DB 5.3 files.
 *
 * The table "/p" lives in "/p.db", in the same binary form as Postfix 3.7
 * on Linux (src/util/dict_db.c): keys and values carry a trailing NUL
 * (DICT_FLAG_TRY1NULL).  A lookup tries with the NUL and then without;
 * once one form has worked the other flag is cleared, so later lookups
 * ask once.  Updates write the NUL when both forms are allowed.
 *
 * Locking is flock(2), Postfix's INTERNAL_LOCK on Linux, on the database
 * descriptor: shared for reads, exclusive for writes, one operation at a
 * time.  A build (O_TRUNC) instead holds an exclusive lock from open to
 * close, as postmap does, so that readers never see a half-built table.
 *
 * Berkeley DB writes diagnostics to stderr unless told otherwise; here they
 * are dropped (logged when verbose), and the caller gets Postfix's text,
 * "open database /p.db: Invalid argument", for a corrupt or foreign file.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <db.h>

#include "lib/util/alloc.h"
#include "lib/util/dict.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"

/* Postfix's defaults: berkeley_db_create_buffer_size, _read_buffer_size. */
static size_t dict_db_create_buf = 16 * 1024 * 1024;
static size_t dict_db_read_buf = 128 * 1024;

#define DICT_DB_NELM 4096 /* Postfix's hash table size hint */

struct dict_db {
	struct dict dict;
	DB *db;
	DBC *cursor;      /* dict_seq state */
	int lock_fd;      /* held exclusively while building, or -1 */
	bool per_op_lock; /* lock around each operation */
	struct str *key_buf;
	struct str *val_buf;
};

void
dict_db_set_buffers(size_t create_size, size_t read_size)
{
	if (create_size > 0)
		dict_db_create_buf = create_size;
	if (read_size > 0)
		dict_db_read_buf = read_size;
}

/* Berkeley DB's own complaints go to the log only when verbose. */
static void
dict_db_errcall(const DB_ENV *env, const char *prefix, const char *text)
{
	(void)env;
	(void)prefix;
	if (msg_verbose)
		msg_info("Berkeley DB: %s", text);
}

/*
 * 0 when the file is a sound database, or does not exist, or is empty and
 * about to be created; -1 when not.
 */
static int
dict_db_verify(const char *path, int open_flags)
{
	struct stat st;
	DB *vdb;
	int status;

	if (stat(path, &st) < 0)
		return 0;
	if (st.st_size == 0 && (open_flags & O_CREAT))
		return 0;
	if (db_create(&vdb, NULL, 0) != 0)
		return -1;
	vdb->set_errcall(vdb, dict_db_errcall);
	/* DB->verify always destroys the handle. */
	status = vdb->verify(vdb, path, NULL, NULL, DB_NOORDERCHK);
	return status == 0 ? 0 : -1;
}

static int
dict_db_lock(struct dict_db *dd, int op)
{
	int fd;

	if (!dd->per_op_lock)
		return 0;
	if (dd->db->fd(dd->db, &fd) != 0)
		return -1;
	while (flock(fd, op) < 0) {
		if (errno != EINTR)
			return -1;
	}
	return 0;
}

static void
dict_db_unlock(struct dict_db *dd)
{
	int fd;

	if (dd->per_op_lock && dd->db->fd(dd->db, &fd) == 0)
		(void)flock(fd, LOCK_UN);
}

/* Copy a stored datum into buf, dropping the trailing NUL if present. */
static const char *
dict_db_copy(struct str *buf, const DBT *d)
{
	size_t len = d->size;

	if (len > 0 && ((const char *)d->data)[len - 1] == 0)
		len--;
	str_setn(buf, d->data, len);
	return str_ptr(buf);
}

static int
dict_db_get(struct dict_db *dd, const char *key, size_t len, DBT *val)
{
	DBT k;

	memset(&k, 0, sizeof(k));
	memset(val, 0, sizeof(*val));
	k.data = (void *)key;
	k.size = (u_int32_t)len;
	return dd->db->get(dd->db, NULL, &k, val, 0);
}

static const char *
dict_db_lookup(struct dict *d, const char *key)
{
	struct dict_db *dd = (struct dict_db *)d;
	const char *result = NULL;
	size_t len = strlen(key);
	DBT val;
	int status;

	if (dict_db_lock(dd, LOCK_SH) < 0) {
		msg_warn("%s:%s: lock database for reading: %m", d->type,
		    d->name);
		d->error = DICT_ERR_RETRY;
		return NULL;
	}
	if (d->flags & DICT_FLAG_TRY1NULL) {
		status = dict_db_get(dd, key, len + 1, &val);
		if (status == 0) {
			d->flags &= ~DICT_FLAG_TRY0NULL;
			result = dict_db_copy(dd->val_buf, &val);
		} else if (status != DB_NOTFOUND) {
			goto error;
		}
	}
	if (result == NULL && (d->flags & DICT_FLAG_TRY0NULL)) {
		status = dict_db_get(dd, key, len, &val);
		if (status == 0) {
			d->flags &= ~DICT_FLAG_TRY1NULL;
			result = dict_db_copy(dd->val_buf, &val);
		} else if (status != DB_NOTFOUND) {
			goto error;
		}
	}
	dict_db_unlock(dd);
	return result;
error:
	dict_db_unlock(dd);
	msg_warn("error reading %s:%s: %s", d->type, d->name,
	    db_strerror(status));
	d->error = DICT_ERR_RETRY;
	return NULL;
}

static int
dict_db_update(struct dict *d, const char *key, const char *value)
{
	struct dict_db *dd = (struct dict_db *)d;
	DBT k, v;
	int status;

	/* Both forms allowed: write Postfix's Linux form, with the NUL. */
	if ((d->flags & DICT_FLAG_TRY1NULL) && (d->flags & DICT_FLAG_TRY0NULL))
		d->flags &= ~DICT_FLAG_TRY0NULL;
	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	k.data = (void *)key;
	k.size = (u_int32_t)strlen(key);
	v.data = (void *)value;
	v.size = (u_int32_t)strlen(value);
	if (d->flags & DICT_FLAG_TRY1NULL) {
		k.size++;
		v.size++;
	}
	if (dict_db_lock(dd, LOCK_EX) < 0) {
		msg_warn("%s:%s: lock database for writing: %m", d->type,
		    d->name);
		d->error = DICT_ERR_RETRY;
		return -1;
	}
	status = dd->db->put(dd->db, NULL, &k, &v,
	    (d->flags & DICT_FLAG_DUP_REPLACE) ? 0 : DB_NOOVERWRITE);
	dict_db_unlock(dd);
	if (status == DB_KEYEXIST)
		return 1;
	if (status != 0) {
		msg_warn("error writing %s:%s: %s", d->type, d->name,
		    db_strerror(status));
		d->error = DICT_ERR_RETRY;
		return -1;
	}
	return 0;
}

static int
dict_db_delete(struct dict *d, const char *key)
{
	struct dict_db *dd = (struct dict_db *)d;
	size_t len = strlen(key);
	int status = DB_NOTFOUND;
	DBT k;

	if (dict_db_lock(dd, LOCK_EX) < 0) {
		msg_warn("%s:%s: lock database for writing: %m", d->type,
		    d->name);
		d->error = DICT_ERR_RETRY;
		return -1;
	}
	memset(&k, 0, sizeof(k));
	k.data = (void *)key;
	if (d->flags & DICT_FLAG_TRY1NULL) {
		k.size = (u_int32_t)(len + 1);
		status = dd->db->del(dd->db, NULL, &k, 0);
		if (status == 0)
			d->flags &= ~DICT_FLAG_TRY0NULL;
	}
	if (status == DB_NOTFOUND && (d->flags & DICT_FLAG_TRY0NULL)) {
		k.size = (u_int32_t)len;
		status = dd->db->del(dd->db, NULL, &k, 0);
		if (status == 0)
			d->flags &= ~DICT_FLAG_TRY1NULL;
	}
	dict_db_unlock(dd);
	if (status == DB_NOTFOUND)
		return 1;
	if (status != 0) {
		msg_warn("error deleting from %s:%s: %s", d->type, d->name,
		    db_strerror(status));
		d->error = DICT_ERR_RETRY;
		return -1;
	}
	return 0;
}

static int
dict_db_sequence(struct dict *d, int func, const char **key, const char **value)
{
	struct dict_db *dd = (struct dict_db *)d;
	DBT k, v;
	int status;

	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	if (func == DICT_SEQ_FIRST) {
		if (dd->cursor) {
			dd->cursor->close(dd->cursor);
			dd->cursor = NULL;
		}
		if ((status = dd->db->cursor(dd->db, NULL, &dd->cursor, 0)) !=
		    0)
			goto error;
	} else if (func != DICT_SEQ_NEXT) {
		msg_panic("dict_db_sequence: bad function %d", func);
	}
	if (dd->cursor == NULL)
		return 1;
	if (dict_db_lock(dd, LOCK_SH) < 0) {
		msg_warn("%s:%s: lock database for reading: %m", d->type,
		    d->name);
		d->error = DICT_ERR_RETRY;
		return -1;
	}
	status = dd->cursor->get(dd->cursor, &k, &v,
	    func == DICT_SEQ_FIRST ? DB_FIRST : DB_NEXT);
	dict_db_unlock(dd);
	if (status == DB_NOTFOUND) {
		dd->cursor->close(dd->cursor);
		dd->cursor = NULL;
		return 1;
	}
	if (status != 0)
		goto error;
	*key = dict_db_copy(dd->key_buf, &k);
	*value = dict_db_copy(dd->val_buf, &v);
	return 0;
error:
	msg_warn("error reading %s:%s: %s", d->type, d->name,
	    db_strerror(status));
	d->error = DICT_ERR_RETRY;
	return -1;
}

static int
dict_db_sync(struct dict *d)
{
	struct dict_db *dd = (struct dict_db *)d;
	int status;

	if ((status = dd->db->sync(dd->db, 0)) != 0) {
		msg_warn("%s:%s: flush dictionary: %s", d->type, d->name,
		    db_strerror(status));
		d->error = DICT_ERR_RETRY;
		return -1;
	}
	return 0;
}

static void
dict_db_close(struct dict *d)
{
	struct dict_db *dd = (struct dict_db *)d;
	int status;

	if (dd->cursor)
		dd->cursor->close(dd->cursor);
	if ((status = dd->db->close(dd->db, 0)) != 0)
		msg_warn("close database %s.db: %s", d->name,
		    db_strerror(status));
	if (dd->lock_fd >= 0)
		(void)close(dd->lock_fd);
	str_free(dd->key_buf);
	str_free(dd->val_buf);
	dict_free_common(d);
}

/* Lock-and-open common to hash and btree. */
static struct dict *
dict_db_open(const char *type, DBTYPE db_type, const char *name, int open_flags,
    int dict_flags, struct str *why)
{
	struct dict_db *dd = NULL;
	struct str *path = str_new(100);
	u_int32_t db_flags = 0;
	struct stat st;
	int lock_fd = -1;
	int status, fd;
	DB *db = NULL;

	str_fmt(path, "%s.db", name);

	/*
	 * Take the lock on our own descriptor before Berkeley DB reads the
	 * file.  A build empties the file itself under the exclusive lock:
	 * DB_TRUNCATE would first parse what is there, and a garbage file
	 * must not stop postmap from replacing it.
	 */
	if ((dict_flags & DICT_FLAG_LOCK) || (open_flags & O_TRUNC)) {
		lock_fd = open(str_ptr(path),
		    (open_flags & (O_ACCMODE | O_CREAT)) | O_CLOEXEC, 0644);
		if (lock_fd < 0) {
			if (errno != ENOENT || (open_flags & O_CREAT)) {
				str_fmt(why, "open database %s: %m",
				    str_ptr(path));
				goto fail;
			}
		} else {
			int op = (open_flags & O_TRUNC) ? LOCK_EX : LOCK_SH;

			while (flock(lock_fd, op) < 0) {
				if (errno != EINTR) {
					str_fmt(why, "lock database %s: %m",
					    str_ptr(path));
					goto fail;
				}
			}
			if ((open_flags & O_TRUNC) &&
			    ftruncate(lock_fd, 0) < 0) {
				str_fmt(why, "truncate database %s: %m",
				    str_ptr(path));
				goto fail;
			}
		}
	}
	/*
	 * Berkeley DB trusts the pages it reads: a damaged data page can
	 * crash it long after a successful open.  Unless it is about to be
	 * rebuilt, the file is checked first (DB->verify, about 10 ms per MB),
	 * so a bad file is refused up front with Postfix's "open database" text.
	 */
	if ((open_flags & O_TRUNC) == 0 &&
	    dict_db_verify(str_ptr(path), open_flags) < 0) {
		errno = EINVAL;
		str_fmt(why, "open database %s: %m", str_ptr(path));
		goto fail;
	}
	if ((open_flags & O_ACCMODE) == O_RDONLY)
		db_flags |= DB_RDONLY;
	if (open_flags & O_CREAT)
		db_flags |= DB_CREATE;
	if ((status = db_create(&db, NULL, 0)) != 0) {
		str_fmt(why, "create DB database handle: %s",
		    db_strerror(status));
		goto fail;
	}
	db->set_errcall(db, dict_db_errcall);
	if (db->set_cachesize(db, 0,
		(u_int32_t)((open_flags & O_TRUNC) ? dict_db_create_buf
						   : dict_db_read_buf),
		0) != 0 ||
	    (db_type == DB_HASH && db->set_h_nelem(db, DICT_DB_NELM) != 0)) {
		str_fmt(why, "set DB parameters for %s", str_ptr(path));
		goto fail;
	}
	if ((status = db->open(db, NULL, str_ptr(path), NULL, db_type, db_flags,
		 0644)) != 0) {
		errno = status;
		if (status > 0)
			str_fmt(why, "open database %s: %m", str_ptr(path));
		else
			str_fmt(why, "open database %s: %s", str_ptr(path),
			    db_strerror(status));
		goto fail;
	}
	/* Berkeley DB's descriptor must not leak into commands we run. */
	if (db->fd(db, &fd) != 0 || fstat(fd, &st) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		str_fmt(why, "open database %s: cannot stat", str_ptr(path));
		goto fail;
	}
	dd = (struct dict_db *)dict_alloc(type, name, sizeof(*dd));
	dd->db = db;
	dd->dict.lookup = dict_db_lookup;
	dd->dict.update = dict_db_update;
	dd->dict.delete = dict_db_delete;
	dd->dict.sequence = dict_db_sequence;
	dd->dict.sync = dict_db_sync;
	dd->dict.close = dict_db_close;
	dd->dict.stat_fd = fd;
	dd->dict.mtime = st.st_mtime;
	dd->dict.flags = dict_flags | DICT_FLAG_FIXED;
	if ((dd->dict.flags & (DICT_FLAG_TRY0NULL | DICT_FLAG_TRY1NULL)) == 0)
		dd->dict.flags |= DICT_FLAG_TRY0NULL | DICT_FLAG_TRY1NULL;
	dd->key_buf = str_new(64);
	dd->val_buf = str_new(64);
	dd->lock_fd = -1;
	if (open_flags & O_TRUNC) {
		/* Hold the build lock until close. */
		dd->lock_fd = lock_fd;
	} else {
		if (lock_fd >= 0)
			(void)close(lock_fd);
		dd->per_op_lock = (dict_flags & DICT_FLAG_LOCK) != 0;
	}
	str_free(path);
	return &dd->dict;

fail:
	if (db)
		db->close(db, 0);
	if (lock_fd >= 0)
		(void)close(lock_fd);
	str_free(path);
	return NULL;
}

struct dict *
dict_hash_open(const char *name, int open_flags, int dict_flags,
    struct str *why)
{
	return dict_db_open("hash", DB_HASH, name, open_flags, dict_flags, why);
}

struct dict *
dict_btree_open(const char *name, int open_flags, int dict_flags,
    struct str *why)
{
	return dict_db_open("btree", DB_BTREE, name, open_flags, dict_flags,
	    why);
}
