/*
 * msg.c - build the message model: headers, MIME tree, UTF-8 text, HTML
 * rendering, URIs and attachments.
 *
 * The top-level header block is split here (so raw values, 8-bit bytes,
 * a leading mbox "From " line and broken lines are seen exactly as sent);
 * the MIME structure and transfer decoding come from GMime 3 (a plain
 * one-part message is built here with GMime's own header parsers and
 * decoders, see simple_root(), as GMime's objects would build it); HTML
 * goes through gumbo (html.c); file types are sniffed with libmagic when
 * a reader asks (msg_part_sniffed()).
 *
 * Ownership: every string and array of the model lives in the pool given
 * to msg_parse(), but for part data that needed no decoding, which points
 * into the caller's raw bytes; GMime and gumbo objects are released
 * before returning.
 *
 * SECURITY: the input is hostile. Only scan_max_size bytes are parsed;
 * MIME parts, depth, decoded bytes, text, HTML tags and URIs are bounded
 * by struct msg_limits and a breach is recorded in msg->limits, never a
 * failure. The MIME walk is iterative. Charset conversion never drops
 * text: undecodable bytes become U+FFFD.
 */
#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gmime/gmime.h>
#include <magic.h>

#include "buf.h"
#include "cfg.h"
#include "html.h"
#include "log.h"
#include "msg.h"
#include "uri.h"
#include "xalloc.h"

#define MAX_HEADERS	5000
#define MAX_PART_HEADERS 200
#define SNIFF_BYTES	(64 * 1024)

static pthread_once_t gmime_once = PTHREAD_ONCE_INIT;

/*
 * The GObject classes a parse and its decoding instantiate, initialised
 * here once instead of by whichever scan thread first needs each. GLib
 * makes lazy class initialisation thread-safe with atomics inside the
 * (uninstrumented) library, which ThreadSanitizer cannot see: it took a
 * class set up by one milter thread and read by another for a race.
 * Done under pthread_once, the order is one it can see; the references
 * are kept for the life of the process (static types are never freed).
 */
static GType (*const gmime_types[])(void) = {
	g_mime_object_get_type, g_mime_message_get_type,
	g_mime_part_get_type, g_mime_text_part_get_type,
	g_mime_multipart_get_type, g_mime_multipart_signed_get_type,
	g_mime_multipart_encrypted_get_type, g_mime_message_part_get_type,
	g_mime_message_partial_get_type,
	g_mime_application_pkcs7_mime_get_type, g_mime_data_wrapper_get_type,
	g_mime_content_type_get_type, g_mime_content_disposition_get_type,
	g_mime_param_list_get_type, g_mime_param_get_type,
	g_mime_header_list_get_type, g_mime_header_get_type,
	g_mime_references_get_type, g_mime_parser_get_type,
	g_mime_stream_get_type, g_mime_stream_mem_get_type,
	g_mime_stream_filter_get_type, g_mime_stream_null_get_type,
	g_mime_stream_cat_get_type, g_mime_stream_buffer_get_type,
	g_mime_filter_get_type, g_mime_filter_basic_get_type,
	g_mime_filter_charset_get_type, g_mime_filter_dos2unix_get_type,
	g_mime_filter_unix2dos_get_type, g_mime_filter_best_get_type,
	g_mime_filter_strip_get_type, g_mime_filter_from_get_type,
	g_mime_filter_yenc_get_type, g_mime_filter_windows_get_type,
	g_mime_filter_html_get_type, g_mime_filter_enriched_get_type,
	g_mime_filter_checksum_get_type, g_mime_filter_gzip_get_type,
};

static void
gmime_init_once(void)
{
	g_mime_init();
	for (size_t i = 0; i < sizeof(gmime_types) / sizeof(gmime_types[0]);
	    i++) {
		GType t = gmime_types[i]();

		if (G_TYPE_IS_CLASSED(t))
			(void)g_type_class_ref(t);
	}
}

void
msg_global_init(void)
{
	pthread_once(&gmime_once, gmime_init_once);
}

void
msg_limits_from_cfg(struct msg_limits *l, const struct cfg *c)
{
	l->scan_max_size = c->scan_max_size;
	l->max_parts = c->max_mime_parts;
	l->max_depth = c->max_mime_depth;
	l->max_decoded = c->max_decoded_bytes;
	l->max_text = c->max_text_bytes;
	l->max_html_tags = c->max_html_tags;
	l->max_uris = c->max_uris;
}

int
msg_is_spam_header(const char *name, size_t len)
{
	/* the first letter first: most names are not X- ones */
	return len >= 7 && (name[0] == 'X' || name[0] == 'x') &&
	    strncasecmp(name, "X-Spam-", 7) == 0;
}

/* ---- handles kept per thread, handed on when a thread ends ----------- */

/*
 * libmilter's worker pool starts and retires threads all the time: a
 * thread ends whenever more than one is idle, and behind Postfix about
 * one scan in four ran on a thread that had never scanned before (224
 * thread starts in 1,000 messages). A per-thread handle that died with
 * its thread had to be built again by the next one: converter modules
 * were dlopen()ed anew (32 gconv loads in 1,000 messages against 13 in
 * `check --batch`) and libmagic read its 8 MB database again (0.19 ms of
 * CPU a load). So when a thread ends its handles go to a small shelf and
 * the next thread that needs one takes it from there. A handle is still
 * used by one thread at a time: it is on the shelf or with one thread,
 * and the shelf's lock orders the hand-over.
 */
#define SPARE_MAX	16	/* handles of one kind shelved; more are freed */

struct spare {
	pthread_mutex_t	 lock;
	void		*v[SPARE_MAX];
	int		 n;
};

/* a shelved handle, or NULL */
static void *
spare_take(struct spare *sp)
{
	void *v = NULL;

	pthread_mutex_lock(&sp->lock);
	if (sp->n > 0)
		v = sp->v[--sp->n];
	pthread_mutex_unlock(&sp->lock);
	return v;
}

/* shelve v: 1, or 0 when the shelf is full (the caller frees v) */
static int
spare_keep(struct spare *sp, void *v)
{
	int kept = 0;

	pthread_mutex_lock(&sp->lock);
	if (sp->n < SPARE_MAX) {
		sp->v[sp->n++] = v;
		kept = 1;
	}
	pthread_mutex_unlock(&sp->lock);
	return kept;
}

/* word-at-a-time tests (exact: no false answers either way) */
#define WORD_ONES	0x0101010101010101ULL
#define WORD_HIGHS	0x8080808080808080ULL
/* some byte of w is below n (n <= 128) */
#define WORD_HAS_LESS(w, n) \
	((((w) - WORD_ONES * (n)) & ~(w) & WORD_HIGHS) != 0)
/* some byte of w is b */
#define WORD_HAS_BYTE(w, b)	WORD_HAS_LESS((w) ^ (WORD_ONES * (b)), 1)

/* ---- charset conversion ---------------------------------------------- */

/*
 * Conversion descriptors are kept per thread, a few charsets at a time:
 * glibc unloads a converter module when its last descriptor is closed,
 * so an iconv_open() per part meant a dlopen() per part.
 */
#define ICONV_CACHE	8
#define ICONV_NAME	48

/*
 * A single-byte charset's bytes as UTF-8, asked of iconv one byte at a
 * time: len 0 is a byte iconv rejects (U+FFFD, as iconv_to_utf8() does).
 */
struct sb_table {
	unsigned char	utf8[256][4];
	unsigned char	len[256];
	int		ascii;	/* each byte below 0x80 is itself */
};

struct iconv_cache {
	struct {
		char	name[ICONV_NAME];	/* "" for a free slot */
		iconv_t	cd;
		struct sb_table *sb;		/* or NULL */
	} e[ICONV_CACHE];
	unsigned	next;			/* slot to replace */
};

static __thread struct iconv_cache *tls_iconv;
static pthread_key_t iconv_key;
static pthread_once_t iconv_once = PTHREAD_ONCE_INIT;
static struct spare iconv_spare = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* a thread ends: its cache goes to the shelf, or is freed */
static void
iconv_cache_release(void *arg)
{
	struct iconv_cache *c = arg;

	if (spare_keep(&iconv_spare, c))
		return;
	for (unsigned i = 0; i < ICONV_CACHE; i++)
		if (c->e[i].name[0]) {
			iconv_close(c->e[i].cd);
			free(c->e[i].sb);
		}
	free(c);
}

static void
iconv_key_init(void)
{
	pthread_key_create(&iconv_key, iconv_cache_release);
}

/*
 * iconv names of charsets that map each byte on its own, with no state:
 * ISO-8859-* (1-99, no 0), CP1250-1257 (not CP1258, which composes) and
 * KOI8-R/U. All of them are ASCII-compatible (ascii_compatible()).
 */
static int
single_byte(const char *n)
{
	size_t k;

	if (strcasecmp(n, "koi8-r") == 0 || strcasecmp(n, "koi8-u") == 0 ||
	    strcasecmp(n, "latin1") == 0)
		return 1;
	if (strncasecmp(n, "iso-8859-", 9) == 0 ||
	    strncasecmp(n, "iso8859-", 8) == 0) {
		n += n[3] == '-' ? 9 : 8;
		k = strspn(n, "0123456789");
		return (k == 1 || k == 2) && n[k] == '\0' &&
		    strcmp(n, "0") != 0;
	}
	if (strncasecmp(n, "windows-125", 11) == 0)
		n += 11;
	else if (strncasecmp(n, "cp125", 5) == 0)
		n += 5;
	else
		return 0;
	return n[0] >= '0' && n[0] <= '7' && n[1] == '\0';
}

/*
 * The byte table of a single-byte charset, asked of cd; NULL when some
 * byte does not convert alone to one character or to an EILSEQ (then
 * the charset is not what single_byte() took it for).
 */
static struct sb_table *
sb_build(iconv_t cd)
{
	struct sb_table *t = xcalloc(1, sizeof(*t));
	unsigned c;

	for (c = 0; c < 256; c++) {
		char in = (char)c, out[8];
		char *ip = &in, *op = out;
		size_t il = 1, ol = sizeof(out);

		iconv(cd, NULL, NULL, NULL, NULL);
		if (iconv(cd, &ip, &il, &op, &ol) == (size_t)-1) {
			if (errno == EILSEQ && il == 1)
				continue;	/* len 0: U+FFFD */
			break;
		}
		/* at most 3: iconv_to_utf8() reserves 3 bytes per byte */
		if (il != 0 || op == out || op - out > 3)
			break;
		memcpy(t->utf8[c], out, (size_t)(op - out));
		t->len[c] = (unsigned char)(op - out);
	}
	iconv(cd, NULL, NULL, NULL, NULL);
	if (c < 256) {
		free(t);
		return NULL;
	}
	t->ascii = 1;
	for (c = 0; c < 0x80; c++)
		if (t->len[c] != 1 || t->utf8[c][0] != c)
			t->ascii = 0;
	return t;
}

/*
 * A descriptor from name to UTF-8, in its initial state; *cached says
 * whether it belongs to the cache (else the caller closes it). *sb is
 * the byte table of a single-byte charset, or NULL.
 */
static iconv_t
iconv_get(const char *name, int *cached, const struct sb_table **sb)
{
	struct iconv_cache *c;
	iconv_t cd;
	unsigned i;

	*cached = 0;
	*sb = NULL;
	if (strlen(name) >= ICONV_NAME)
		return iconv_open("UTF-8", name);
	pthread_once(&iconv_once, iconv_key_init);
	if ((c = tls_iconv) == NULL) {
		if ((c = spare_take(&iconv_spare)) == NULL)
			c = xcalloc(1, sizeof(*c));
		tls_iconv = c;
		pthread_setspecific(iconv_key, c);
	}
	for (i = 0; i < ICONV_CACHE; i++)
		if (c->e[i].name[0] && strcmp(c->e[i].name, name) == 0) {
			iconv(c->e[i].cd, NULL, NULL, NULL, NULL);
			*cached = 1;
			*sb = c->e[i].sb;
			return c->e[i].cd;
		}
	if ((cd = iconv_open("UTF-8", name)) == (iconv_t)-1)
		return cd;
	i = c->next;
	c->next = (c->next + 1) % ICONV_CACHE;
	if (c->e[i].name[0]) {
		iconv_close(c->e[i].cd);
		free(c->e[i].sb);
	}
	strcpy(c->e[i].name, name);
	c->e[i].cd = cd;
	c->e[i].sb = single_byte(name) ? sb_build(cd) : NULL;
	*cached = 1;
	*sb = c->e[i].sb;
	return cd;
}

/*
 * g_mime_charset_iconv_name() under a mutex of ours. GMime keeps the
 * names it returns in a process-wide table it fills under its own lock,
 * a GMutex: glibc-futex based, invisible to ThreadSanitizer. So TSan saw
 * a name one milter thread's call had just made (vasprintf) read by
 * strlen() in iconv_get() on another thread, a race it could not tell
 * from a real one and that no suppression can name without hiding
 * iconv_get() itself. Taking a pthread mutex around the call gives TSan
 * the same ordering GMime's lock gives the CPU; it costs one uncontended
 * lock per charset conversion, next to the one GMime takes inside.
 */
static pthread_mutex_t charset_mu = PTHREAD_MUTEX_INITIALIZER;

static const char *
charset_iconv_name(const char *charset)
{
	const char *name;

	pthread_mutex_lock(&charset_mu);
	name = g_mime_charset_iconv_name(charset);
	pthread_mutex_unlock(&charset_mu);
	return name;
}

/*
 * Convert len bytes from charset to UTF-8 into b. Invalid input bytes
 * become U+FFFD; returns 0 when the charset was usable, -1 when it was
 * unknown (nothing appended).
 */
static int
iconv_to_utf8(const char *charset, const char *in, size_t len, struct buf *b)
{
	const char *name = charset_iconv_name(charset);
	int cached;
	const struct sb_table *sb;
	iconv_t cd = iconv_get(name ? name : charset, &cached, &sb);
	char *ip = (char *)in;
	size_t il = len;

	if (cd == (iconv_t)-1)
		return -1;
	if (sb != NULL) {
		/* a byte at a time from the table: what iconv gives */
		char *op;

		buf_reserve(b, len * 3 + 4);	/* 4: each copy writes 4 */
		op = b->p + b->len;
		for (size_t k = 0; k < len; k++) {
			unsigned char c = (unsigned char)in[k];
			uint64_t w;

			/* 8 ASCII bytes at a time, when they map to themselves */
			if (sb->ascii && c < 0x80 && k + 8 <= len) {
				memcpy(&w, in + k, sizeof(w));
				if ((w & WORD_HIGHS) == 0) {
					memcpy(op, &w, sizeof(w));
					op += 8;
					k += 7;
					continue;
				}
			}

			if (sb->len[c] == 0) {
				memcpy(op, "\xef\xbf\xbd", 3);
				op += 3;
			} else {
				memcpy(op, sb->utf8[c], 4);
				op += sb->len[c];
			}
		}
		b->len = (size_t)(op - b->p);
		b->p[b->len] = '\0';
		return 0;
	}
	buf_reserve(b, len + len / 2 + 16);
	while (il > 0) {
		char *op;
		size_t ol, room;

		buf_reserve(b, il * 2 + 16);
		op = b->p + b->len;
		room = ol = b->cap - b->len - 1;
		size_t r = iconv(cd, &ip, &il, &op, &ol);
		b->len += room - ol;
		b->p[b->len] = '\0';
		if (r == (size_t)-1) {
			if (errno == E2BIG)
				continue;
			/* EILSEQ or EINVAL: replace one byte and go on */
			buf_add(b, "\xef\xbf\xbd", 3);
			ip++;
			il--;
			iconv(cd, NULL, NULL, NULL, NULL);
		}
	}
	if (!cached)
		iconv_close(cd);
	return 0;
}

/* 1 if no byte of s[0..len) has the high bit set */
static int
is_ascii(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	uint64_t acc = 0;

	/* 32 bytes a round, stopping at the first round with an 8-bit byte */
	for (; i + 32 <= len; i += 32) {
		uint64_t w[4];

		memcpy(w, p + i, sizeof(w));
		if (((w[0] | w[1] | w[2] | w[3]) & WORD_HIGHS) != 0)
			return 0;
	}
	for (; i + 8 <= len; i += 8) {
		uint64_t w;

		memcpy(&w, p + i, sizeof(w));
		acc |= w;
	}
	for (; i < len; i++)
		acc |= p[i];
	return (acc & WORD_HIGHS) == 0;
}

/*
 * g_utf8_validate() of in[0..len), which says no to NUL bytes too; plain
 * ASCII is checked first, word by word.
 */
static int
valid_utf8(const char *in, size_t len)
{
	if (is_ascii(in, len))
		return memchr(in, '\0', len) == NULL;
	return g_utf8_validate(in, (gssize)len, NULL);
}

/*
 * Make arbitrary bytes valid UTF-8 (cp1252 guess for 8-bit junk); valid
 * says what valid_utf8() answered, or -1 when it was not asked yet.
 */
static void
bytes_to_utf8_v(const char *in, size_t len, struct buf *b, int valid)
{
	if (valid < 0)
		valid = valid_utf8(in, len);
	if (valid) {
		buf_add(b, in, len);
		return;
	}
	if (iconv_to_utf8("windows-1252", in, len, b) == 0)
		return;
	iconv_to_utf8("iso-8859-1", in, len, b);
}

static void
bytes_to_utf8(const char *in, size_t len, struct buf *b)
{
	bytes_to_utf8_v(in, len, b, -1);
}

/*
 * iconv names (as g_mime_charset_iconv_name() gives them) of charsets in
 * which every byte below 0x80 is that ASCII character and no state is
 * kept, so text of such bytes converts to itself. Stateful (ISO-2022-*,
 * UTF-7), non-ASCII (UTF-16, EBCDIC) and composing (CP1258, which holds
 * back a last letter) encodings are not here: the single-byte ones
 * above and a few multibyte ones. Checked against glibc.
 */
static int
ascii_compatible(const char *n)
{
	static const char *const multi[] = {
		"gbk", "gb2312", "gb18030", "big5", "euc-kr", "euc-jp",
	};

	if (single_byte(n))
		return 1;
	for (size_t k = 0; k < sizeof(multi) / sizeof(multi[0]); k++)
		if (strcasecmp(n, multi[k]) == 0)
			return 1;
	return 0;
}

/*
 * 1 when plain ASCII text in charset needs no conversion: the charset is
 * ASCII-compatible and iconv knows it (so iconv_to_utf8() would have
 * converted it, byte for byte; the descriptor stays cached).
 */
static int
ascii_passes(const char *charset)
{
	const char *name = charset_iconv_name(charset);
	const struct sb_table *sb;
	int cached;
	iconv_t cd;

	if (name == NULL)
		name = charset;
	if (!ascii_compatible(name))
		return 0;
	if ((cd = iconv_get(name, &cached, &sb)) == (iconv_t)-1)
		return 0;
	if (!cached)
		iconv_close(cd);
	return 1;
}

/*
 * Decode text in a declared charset. *guessed is set when the declared
 * charset was missing, unknown or wrong.
 */
static void
text_to_utf8(const char *charset, const char *in, size_t len, struct buf *b,
    int *guessed)
{
	*guessed = 0;
	if (len == 0)
		return;
	if (charset == NULL || *charset == '\0' ||
	    strcasecmp(charset, "us-ascii") == 0 || strcasecmp(charset, "ascii") == 0 ||
	    strcasecmp(charset, "utf-8") == 0 || strcasecmp(charset, "utf8") == 0) {
		int valid = valid_utf8(in, len);

		if (!valid)
			*guessed = 1;
		bytes_to_utf8_v(in, len, b, valid);
		return;
	}
	/*
	 * plain ASCII in an ASCII-compatible charset iconv knows: the
	 * conversion would give the same bytes and no U+FFFD
	 */
	if (is_ascii(in, len) && ascii_passes(charset)) {
		buf_add(b, in, len);
		return;
	}
	size_t start = b->len;
	if (iconv_to_utf8(charset, in, len, b) == 0) {
		/* many U+FFFD: the declared charset is wrong; guess */
		size_t bad = 0;
		const char *p = b->p + start, *e = b->p + b->len;

		/* U+FFFD, by its first byte (rare in most text) */
		while ((p = memchr(p, '\xef', (size_t)(e - p))) != NULL) {
			if (e - p >= 3 && p[1] == '\xbf' && p[2] == '\xbd') {
				bad++;
				p += 3;
			} else
				p++;
		}
		if (bad == 0 || bad * 20 < len)
			return;
		buf_truncate(b, start);
	}
	*guessed = 1;
	bytes_to_utf8(in, len, b);
}

/* NUL bytes cannot live in C strings handed to checks: make them spaces */
static int
replace_nuls(char *s, size_t len)
{
	char *p = s, *e = s + len;
	int found = 0;

	while (p < e && (p = memchr(p, '\0', (size_t)(e - p))) != NULL) {
		*p++ = ' ';
		found = 1;
	}
	return found;
}

/* ---- header block ------------------------------------------------------ */

struct hdr_vec {
	struct msg_header *v;
	size_t n, cap;
	int odd;	/* a line GMime might split differently (see mime_stream) */
};

static struct msg_header *
hdr_push(struct pool *p, struct hdr_vec *hv)
{
	if (hv->n == hv->cap) {
		size_t ncap = hv->cap ? hv->cap * 2 : 32;
		struct msg_header *nv = pool_allocarray(p, ncap, sizeof(*nv));
		if (hv->n)
			memcpy(nv, hv->v, hv->n * sizeof(*nv));
		hv->v = nv;
		hv->cap = ncap;
	}
	return &hv->v[hv->n++];
}

/* header value bytes decode_value() does not copy as they are */
enum { UNFOLD_DROP = 1, UNFOLD_SPACE };
static const unsigned char unfold_class[256] = {
	['\r'] = UNFOLD_DROP, ['\n'] = UNFOLD_DROP,
	['\t'] = UNFOLD_SPACE, ['\0'] = UNFOLD_SPACE,
};

/*
 * unfold, decode RFC 2047, make UTF-8, trim; copy is a NUL-terminated
 * copy of raw[0..len) in the pool, returned as it is when none of that
 * changes it
 */
static const char *
decode_value(struct pool *p, const char *raw, size_t len, const char *copy)
{
	char *u;
	size_t n, s = 0, e, k = 0;
	int slow = 0;
	uint64_t high = 0;
	struct buf d = BUF_INIT, v = BUF_INIT;
	char *dec;
	const char *r;

	/*
	 * the plain prefix: no control byte, '=' or 8-bit byte. A whole
	 * value of it with no blank at either end (most one-line headers)
	 * is its own decoded form.
	 */
	for (; k + 8 <= len; k += 8) {
		uint64_t w;

		memcpy(&w, raw + k, sizeof(w));
		if (WORD_HAS_LESS(w, 14) || WORD_HAS_BYTE(w, '=') ||
		    (w & WORD_HIGHS))
			break;
	}
	while (k < len && (unsigned char)raw[k] >= 14 && raw[k] != '=' &&
	    (unsigned char)raw[k] < 0x80)
		k++;
	if (k == len && (len == 0 || (raw[0] != ' ' && raw[len - 1] != ' ')))
		return copy;
	u = pool_alloc(p, len + 1);
	memcpy(u, raw, k);
	n = k;
	/*
	 * then one pass: unfold, NUL and TAB to space, note what needs
	 * decoding (8-bit bytes, "=?"); 8 bytes at a time while they hold
	 * no control byte and no '='
	 */
	for (size_t i = k; i < len;) {
		uint64_t w;
		unsigned char c;

		if (i + 8 <= len) {
			memcpy(&w, raw + i, sizeof(w));
			if (!WORD_HAS_LESS(w, 14) && !WORD_HAS_BYTE(w, '=')) {
				high |= w;
				memcpy(u + n, &w, sizeof(w));
				n += 8;
				i += 8;
				continue;
			}
		}
		c = (unsigned char)raw[i];
		if (c >= 0x80 || (c == '=' && i + 1 < len && raw[i + 1] == '?'))
			slow = 1;
		if (unfold_class[c] == 0)
			u[n++] = (char)c;
		else if (unfold_class[c] == UNFOLD_SPACE)
			u[n++] = ' ';
		i++;
	}
	if (high & WORD_HIGHS)
		slow = 1;
	e = n;
	while (s < e && isspace((unsigned char)u[s]))
		s++;
	while (e > s && isspace((unsigned char)u[e - 1]))
		e--;
	u[e] = '\0';
	if (!slow)
		return u + s;	/* plain ASCII: the common case */
	/* raw 8-bit bytes first become UTF-8 so GMime sees valid text */
	bytes_to_utf8(u + s, e - s, &d);
	dec = g_mime_utils_header_decode_text(NULL, buf_str(&d));
	if (dec) {
		bytes_to_utf8(dec, strlen(dec), &v);
		g_free(dec);
	} else
		buf_add(&v, buf_str(&d), d.len);
	buf_free(&d);
	s = 0;
	e = v.len;
	while (s < e && isspace((unsigned char)v.p[s]))
		s++;
	while (e > s && isspace((unsigned char)v.p[e - 1]))
		e--;
	r = pool_strndup(p, v.p ? v.p + s : "", e - s);
	buf_free(&v);
	return r;
}

size_t
msg_header_name_len(const char *line, size_t len, size_t *colon)
{
	size_t n = 0, c;

	/* printable ASCII but ':' (33 to 126: one unsigned compare) */
	while (n < len && (unsigned char)(line[n] - 33) < 94 && line[n] != ':')
		n++;
	/* "Name :" is tolerated like most MTAs do */
	c = n;
	while (c < len && (line[c] == ' ' || line[c] == '\t'))
		c++;
	if (n == 0 || c >= len || line[c] != ':')
		return 0;
	if (colon)
		*colon = c;
	return n;
}

/*
 * Split the top-level header block of raw[start..len). Returns the
 * offset of the body.
 */
static size_t
split_headers(struct pool *p, struct msg *m, const char *raw, size_t start,
    size_t len, struct hdr_vec *hv)
{
	size_t i = start;

	while (i < len) {
		const char *line = raw + i;
		const char *nl = memchr(line, '\n', len - i);
		size_t ll = nl ? (size_t)(nl - line) : len - i;
		size_t name_len, c = 0, vstart, vend, next;

		/* empty line: end of headers */
		if (ll == 0 || (ll == 1 && line[0] == '\r'))
			return i + ll + (nl ? 1 : 0);
		name_len = msg_header_name_len(line, ll, &c);
		if (name_len == 0) {
			if (line[0] == ' ' || line[0] == '\t') {
				/* continuation without a header: skip it */
				m->anomalies |= MSG_BAD_HEADER;
				i += ll + (nl ? 1 : 0);
				continue;
			}
			/* not a header: the body starts here */
			m->anomalies |= MSG_BAD_HEADER | MSG_NO_HEADER_END;
			return i;
		}
		if (c != name_len)
			hv->odd = 1;
		vstart = i + c + 1;
		/* the value runs over continuation lines */
		next = i + ll + (nl ? 1 : 0);
		while (next < len && (raw[next] == ' ' || raw[next] == '\t')) {
			const char *n2 = memchr(raw + next, '\n', len - next);
			next = n2 ? (size_t)(n2 - raw) + 1 : len;
		}
		vend = next;
		while (vend > vstart && (raw[vend - 1] == '\n' || raw[vend - 1] == '\r'))
			vend--;
		if (ll && line[ll - 1] == '\r')
			m->anomalies |= MSG_CRLF;
		if (vend > i && memchr(raw + i, '\0', vend - i) != NULL)
			m->anomalies |= MSG_NUL_BYTES;
		if (vend > i && !is_ascii(raw + i, vend - i))
			m->anomalies |= MSG_8BIT_HEADERS;
		if (msg_is_spam_header(line, name_len))
			m->nspam_hdrs++;
		else if (hv->n >= MAX_HEADERS)
			hv->odd = 1;
		else {
			struct msg_header *h = hdr_push(p, hv);
			size_t rs = vstart;
			while (rs < vend && (raw[rs] == ' ' || raw[rs] == '\t'))
				rs++;
			h->name = pool_strndup(p, line, name_len);
			replace_nuls((char *)h->name, name_len);
			h->raw = pool_strndup(p, raw + rs, vend - rs);
			replace_nuls((char *)h->raw, vend - rs);
			h->value = decode_value(p, raw + rs, vend - rs, h->raw);
			h->part = -1;
		}
		i = next;
	}
	/* headers only, no empty line */
	m->anomalies |= MSG_NO_HEADER_END;
	return len;
}

/* ---- parts ------------------------------------------------------------- */

struct builder {
	struct pool		*pool;
	struct msg		*m;
	const struct msg_limits	*lim;
	struct hdr_vec		 hdrs;
	struct msg_part		*parts;
	size_t			 nparts, cap;
	struct buf		 visible, invisible;
	size_t			 decoded;
	int			 cur_part;
	struct msg_uri		*uris;
	size_t			 nuris, ucap;
	unsigned		*useen;		/* hash of uris[]: index+1 or 0 */
	size_t			 nseen;		/* slots, a power of two */
	struct buf		 nb;		/* add_uri()'s scratch */
	const char		*root_body;	/* see parse_mime(), or NULL */
	size_t			 root_body_len;
	struct html_budget	 html;		/* for all the HTML parts */
};

static __thread magic_t tls_magic;
static pthread_key_t magic_key;
static pthread_once_t magic_once = PTHREAD_ONCE_INIT;
static struct spare magic_spare = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* a thread ends: its loaded handle goes to the shelf, or is closed */
static void
magic_release(void *m)
{
	if (!spare_keep(&magic_spare, m))
		magic_close((magic_t)m);
}

static void
magic_key_init(void)
{
	pthread_key_create(&magic_key, magic_release);
}

/* libmagic handles are not thread-safe: one per thread, made lazily */
static const char *
sniff(struct pool *p, const unsigned char *data, size_t len)
{
	const char *t;

	if (len == 0)
		return NULL;
	pthread_once(&magic_once, magic_key_init);
	if (tls_magic == NULL && (tls_magic = spare_take(&magic_spare)) != NULL)
		pthread_setspecific(magic_key, tls_magic);
	if (tls_magic == NULL) {
		tls_magic = magic_open(MAGIC_MIME_TYPE | MAGIC_NO_CHECK_COMPRESS |
		    MAGIC_NO_CHECK_ELF | MAGIC_ERROR);
		if (tls_magic == NULL || magic_load(tls_magic, NULL) != 0) {
			if (tls_magic)
				magic_close(tls_magic);
			tls_magic = NULL;
			return NULL;
		}
		pthread_setspecific(magic_key, tls_magic);
	}
	t = magic_buffer(tls_magic, data, len > SNIFF_BYTES ? SNIFF_BYTES : len);
	return t ? pool_strdup(p, t) : NULL;
}

/*
 * The URIs kept so far are hashed (URI and source), so telling a
 * repeated one costs a lookup instead of a compare with every URI
 * (max_uris of them).
 */
/* FNV-1a of the C string (compared with strcmp) and the source */
static size_t
uri_hash(const char *uri, enum msg_uri_source src)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ (uint64_t)src;

	for (; *uri; uri++)
		h = (h ^ (unsigned char)*uri) * 0x100000001b3ULL;
	return (size_t)(h ^ (h >> 32));
}

/* h is uri_hash(uri, src) */
static int
uri_seen(const struct builder *b, const char *uri, enum msg_uri_source src,
    size_t h)
{
	size_t mask = b->nseen - 1;

	if (b->nseen == 0)
		return 0;
	for (size_t i = h & mask; b->useen[i];
	    i = (i + 1) & mask) {
		const struct msg_uri *u = &b->uris[b->useen[i] - 1];

		if (u->source == src && strcmp(u->uri, uri) == 0)
			return 1;
	}
	return 0;
}

static void
uri_insert(unsigned *tab, size_t n, size_t h, unsigned idx)
{
	size_t i = h & (n - 1);

	while (tab[i])
		i = (i + 1) & (n - 1);
	tab[i] = idx + 1;
}

/*
 * add uris[idx] (of hash h) to the hash, growing it to stay at most half
 * full
 */
static void
uri_remember(struct builder *b, size_t idx, size_t h)
{
	if ((b->nuris + 1) * 2 > b->nseen) {
		size_t n = b->nseen ? b->nseen * 2 : 64;
		unsigned *tab = pool_allocarray(b->pool, n, sizeof(*tab));

		for (size_t k = 0; k < idx; k++)
			uri_insert(tab, n, uri_hash(b->uris[k].uri,
			    b->uris[k].source), (unsigned)k);
		b->useen = tab;
		b->nseen = n;
	}
	uri_insert(b->useen, b->nseen, h, (unsigned)idx);
}

static void
add_uri(struct builder *b, const char *uri, size_t len, const char *text,
    enum msg_uri_source src)
{
	struct buf *nb = &b->nb;
	size_t ho = 0, hl = 0, h;
	int r;
	struct msg_uri *u;

	if (b->nuris >= (size_t)b->lim->max_uris) {
		b->m->limits |= MSG_LIM_URIS;
		return;
	}
	buf_truncate(nb, 0);
	r = uri_normalize(uri, len, nb, &ho, &hl);
	if (r < 0 || nb->len == 0)
		return;
	h = uri_hash(nb->p, src);
	if (uri_seen(b, nb->p, src, h))
		return;
	if (b->nuris == b->ucap) {
		size_t ncap = b->ucap ? b->ucap * 2 : 16;
		struct msg_uri *nu = pool_allocarray(b->pool, ncap, sizeof(*nu));
		if (b->nuris)
			memcpy(nu, b->uris, b->nuris * sizeof(*nu));
		b->uris = nu;
		b->ucap = ncap;
	}
	u = &b->uris[b->nuris++];
	u->uri = pool_strndup(b->pool, nb->p, nb->len);
	u->host = r == 0 ? pool_strndup(b->pool, nb->p + ho, hl) : NULL;
	u->text = text && *text ? pool_strdup(b->pool, text) : NULL;
	u->source = src;
	u->part = b->cur_part;
	uri_remember(b, b->nuris - 1, h);
}

static int
text_uri_cb(void *arg, const char *uri, size_t len, int bare)
{
	struct builder *b = arg;

	add_uri(b, uri, len, NULL, bare ? URI_BARE : URI_TEXT);
	return b->nuris >= (size_t)b->lim->max_uris;
}

static void
html_link_cb(void *arg, const char *url, const char *text,
    enum html_link_kind kind)
{
	add_uri(arg, url, strlen(url), text,
	    kind == HTML_LINK_SRC ? URI_SRC : kind == HTML_LINK_FORM ?
	    URI_FORM : URI_HREF);
}

/* append text to a bounded buffer, "\n" between parts */
static void
add_bounded(struct builder *b, struct buf *dst, const char *t, size_t n)
{
	size_t max = b->lim->max_text;

	if (n == 0)
		return;
	if (dst->len && dst->p[dst->len - 1] != '\n' && dst->len < max)
		buf_addc(dst, '\n');
	if (dst->len + n > max) {
		b->m->limits |= MSG_LIM_TEXT;
		n = dst->len < max ? max - dst->len : 0;
		/* do not cut a UTF-8 sequence */
		while (n > 0 && ((unsigned char)t[n] & 0xc0) == 0x80)
			n--;
	}
	buf_add(dst, t, n);
}

static struct msg_part *
new_part(struct builder *b, int parent, int depth)
{
	struct msg_part *pt;

	if (b->nparts == b->cap) {
		size_t ncap = b->cap ? b->cap * 2 : 8;
		struct msg_part *np = pool_allocarray(b->pool, ncap, sizeof(*np));
		if (b->nparts)
			memcpy(np, b->parts, b->nparts * sizeof(*np));
		b->parts = np;
		b->cap = ncap;
	}
	pt = &b->parts[b->nparts];
	memset(pt, 0, sizeof(*pt));
	pt->index = (int)b->nparts++;
	pt->parent = parent;
	pt->depth = depth;
	return pt;
}

static const char *
lower_dup(struct pool *p, const char *s)
{
	char *r;

	if (s == NULL)
		return NULL;
	r = pool_strdup(p, s);
	for (char *q = r; *q; q++)
		*q = (char)tolower((unsigned char)*q);
	return r;
}

static void
part_headers(struct builder *b, GMimeObject *obj, struct msg_part *pt)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(obj);
	int n = hl ? g_mime_header_list_get_count(hl) : 0;

	pt->hdr_first = b->hdrs.n;
	for (int i = 0; i < n && i < MAX_PART_HEADERS && b->hdrs.n < MAX_HEADERS; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
		const char *name = g_mime_header_get_name(h);
		const char *raw = g_mime_header_get_raw_value(h);
		struct msg_header *mh;

		if (name == NULL || msg_is_spam_header(name, strlen(name)))
			continue;
		if (pt->index == 0 && strncasecmp(name, "Content-", 8) != 0)
			continue;
		mh = hdr_push(b->pool, &b->hdrs);
		mh->name = pool_strdup(b->pool, name);
		raw = raw ? raw : "";
		while (*raw == ' ' || *raw == '\t')
			raw++;
		size_t rl = strlen(raw);
		while (rl && (raw[rl - 1] == '\n' || raw[rl - 1] == '\r'))
			rl--;
		mh->raw = pool_strndup(b->pool, raw, rl);
		mh->value = decode_value(b->pool, raw, rl, mh->raw);
		mh->part = pt->index;
	}
	pt->nhdrs = b->hdrs.n - pt->hdr_first;
}

/* n decoded bytes cut to what max_decoded has left */
static size_t
bound_decoded(struct builder *b, struct msg_part *pt, size_t n)
{
	if (b->decoded + n > b->lim->max_decoded) {
		n = b->lim->max_decoded - b->decoded;
		b->m->limits |= MSG_LIM_DECODED;
		pt->flags |= PART_TRUNCATED;
	}
	return n;
}

/* the transfer encodings decode_body() handles */
static int
body_decodable(GMimeContentEncoding enc)
{
	switch (enc) {
	case GMIME_CONTENT_ENCODING_DEFAULT:
	case GMIME_CONTENT_ENCODING_7BIT:
	case GMIME_CONTENT_ENCODING_8BIT:
	case GMIME_CONTENT_ENCODING_BINARY:
	case GMIME_CONTENT_ENCODING_BASE64:
	case GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE:
		return 1;
	default:
		return 0;	/* uuencode: GMime's filter looks for "begin" */
	}
}

/*
 * Transfer-decode len bytes of a body as g_mime_data_wrapper_write_to_stream()
 * does: GMime's decoder stepped over each 4096-byte read of its filter
 * stream, then flushed. Bytes that need no decoding are not copied (the
 * raw message outlives the model).
 */
#define DECODE_READ	4096

static const unsigned char *
decode_body(struct pool *p, GMimeContentEncoding enc, const char *body,
    size_t len, size_t *outlen)
{
	GMimeEncoding st;
	struct buf out = BUF_INIT;
	const unsigned char *r;

	if (enc != GMIME_CONTENT_ENCODING_BASE64 &&
	    enc != GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE) {
		*outlen = len;
		return (const unsigned char *)body;
	}
	g_mime_encoding_init_decode(&st, enc);
	for (size_t off = 0; off < len; off += DECODE_READ) {
		size_t k = len - off < DECODE_READ ? len - off : DECODE_READ;

		buf_reserve(&out, g_mime_encoding_outlen(&st, k));
		out.len += g_mime_encoding_step(&st, body + off, k,
		    out.p + out.len);
	}
	buf_reserve(&out, g_mime_encoding_outlen(&st, 0));
	out.len += g_mime_encoding_flush(&st, "", 0, out.p + out.len);
	*outlen = out.len;
	r = out.len ? pool_memdup(p, out.p, out.len) : NULL;
	buf_free(&out);
	return r;
}

static void leaf_body(struct builder *, struct msg_part *,
    GMimeContentEncoding, GMimeDataWrapper *);

static void
leaf_part(struct builder *b, GMimePart *gp, struct msg_part *pt)
{
	GMimeObject *obj = GMIME_OBJECT(gp);
	GMimeDataWrapper *w = g_mime_part_get_content(gp);
	const char *fn, *disp;

	fn = g_mime_part_get_filename(gp);
	if (fn) {
		struct buf u = BUF_INIT;
		bytes_to_utf8(fn, strlen(fn), &u);
		pt->filename = pool_strndup(b->pool, buf_str(&u), u.len);
		buf_free(&u);
	}
	disp = g_mime_object_get_disposition(obj);
	pt->disposition = lower_dup(b->pool, disp);
	pt->encoding = lower_dup(b->pool, g_mime_content_encoding_to_string(
	    g_mime_part_get_content_encoding(gp)));
	pt->charset = lower_dup(b->pool,
	    g_mime_object_get_content_type_parameter(obj, "charset"));
	if (pt->filename || (pt->disposition && strcmp(pt->disposition, "attachment") == 0))
		pt->flags |= PART_ATTACHMENT;
	if (w == NULL)
		return;
	leaf_body(b, pt, g_mime_part_get_content_encoding(gp), w);
}

/*
 * A leaf part's content: decoded bytes (from GMime's wrapper w, or for
 * the root part from b->root_body), then for text parts the UTF-8 text,
 * HTML rendering and URIs.
 */
static void
leaf_body(struct builder *b, struct msg_part *pt, GMimeContentEncoding enc,
    GMimeDataWrapper *w)
{
	GMimeStream *mem;
	GByteArray *ba;

	if (b->decoded >= b->lim->max_decoded) {
		b->m->limits |= MSG_LIM_DECODED;
		pt->flags |= PART_TRUNCATED;
		return;
	}
	size_t n;
	if (pt->index == 0 && b->root_body != NULL) {
		/* GMime saw only the headers: decode the body here */
		const unsigned char *d = decode_body(b->pool, enc,
		    b->root_body, b->root_body_len, &n);

		n = bound_decoded(b, pt, n);
		pt->data = n ? d : NULL;
	} else {
		mem = g_mime_stream_mem_new();
		if (g_mime_data_wrapper_write_to_stream(w, mem) < 0)
			pt->flags |= PART_BAD_ENCODING;
		ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
		n = bound_decoded(b, pt, ba ? ba->len : 0);
		pt->data = n ? pool_memdup(b->pool, ba->data, n) : NULL;
		g_object_unref(mem);
	}
	b->decoded += n;
	pt->size = n;

	int is_text = strncmp(pt->ctype, "text/", 5) == 0;
	int is_html = strcmp(pt->ctype, "text/html") == 0;
	if (!is_text || (pt->flags & PART_ATTACHMENT && !is_html &&
	    strcmp(pt->ctype, "text/plain") != 0)) {
		pt->sniff = 1;	/* msg_part_sniffed() looks when asked */
		if (!is_text)
			return;
	}
	/* text: decode the charset, render HTML, collect URIs */
	struct buf t = BUF_INIT;
	int guessed = 0;
	size_t tlen = n > b->lim->max_text ? b->lim->max_text : n;
	char *cr;

	if (tlen < n)
		pt->flags |= PART_TRUNCATED, b->m->limits |= MSG_LIM_TEXT;
	if (tlen && memchr(pt->data, 0, tlen))
		b->m->anomalies |= MSG_NUL_BYTES;
	text_to_utf8(pt->charset, (const char *)pt->data, tlen, &t, &guessed);
	if (guessed)
		pt->flags |= PART_CHARSET_GUESSED;
	if (t.len)
		replace_nuls(t.p, t.len);
	/* CRLF -> LF so text rules see one line ending */
	if (t.len && (cr = memchr(t.p, '\r', t.len)) != NULL) {
		char *e = t.p + t.len, *o = cr;

		/* the bytes between CRs move down in one go */
		while (cr != NULL) {
			char *next = cr + 1 < e ? memchr(cr + 1, '\r',
			    (size_t)(e - cr - 1)) : NULL;
			char *from = cr + 1 < e && cr[1] == '\n' ? cr + 1 : cr;
			char *to = next ? next : e;

			memmove(o, from, (size_t)(to - from));
			o += to - from;
			cr = next;
		}
		buf_truncate(&t, (size_t)(o - t.p));
	}
	pt->flags |= PART_TEXT;
	pt->text = pool_strndup(b->pool, buf_str(&t), t.len);
	pt->text_len = t.len;
	buf_free(&t);
	if (is_html) {
		struct html_render r;

		memset(&r, 0, sizeof(r));
		r.on_link = html_link_cb;
		r.arg = b;
		pt->flags |= PART_HTML;
		html_render(&r, pt->text, pt->text_len, &b->html,
		    b->lim->max_text);
		if (r.truncated)
			b->m->limits |= MSG_LIM_HTML;
		pt->rendered = pool_strndup(b->pool, buf_str(&r.visible), r.visible.len);
		pt->rendered_len = r.visible.len;
		uri_scan_text(pt->rendered, pt->rendered_len, text_uri_cb, b);
		add_bounded(b, &b->visible, pt->rendered, pt->rendered_len);
		add_bounded(b, &b->invisible, buf_str(&r.invisible), r.invisible.len);
		buf_free(&r.visible);
		buf_free(&r.invisible);
	} else {
		uri_scan_text(pt->text, pt->text_len, text_uri_cb, b);
		add_bounded(b, &b->visible, pt->text, pt->text_len);
	}
}

struct walk {
	GMimeObject	*obj;
	int		 parent;
	int		 depth;
};

static void
walk_mime(struct builder *b, GMimeObject *root)
{
	struct walk *stack;
	size_t sp = 0, cap = 64;

	stack = xcalloc(cap, sizeof(*stack));
	stack[sp++] = (struct walk){ root, -1, 0 };
	while (sp > 0) {
		struct walk w = stack[--sp];
		struct msg_part *pt;
		GMimeContentType *ct;
		char *mt;

		if (b->nparts >= (size_t)b->lim->max_parts) {
			b->m->limits |= MSG_LIM_PARTS;
			break;
		}
		pt = new_part(b, w.parent, w.depth);
		b->cur_part = pt->index;
		ct = g_mime_object_get_content_type(w.obj);
		mt = ct ? g_mime_content_type_get_mime_type(ct) : NULL;
		pt->ctype = lower_dup(b->pool, mt ? mt : "text/plain");
		g_free(mt);
		part_headers(b, w.obj, pt);

		if (GMIME_IS_MULTIPART(w.obj)) {
			GMimeMultipart *mp = GMIME_MULTIPART(w.obj);
			int n = g_mime_multipart_get_count(mp);

			pt->flags |= PART_MULTIPART;
			pt->boundary = pool_strdup(b->pool, g_mime_multipart_get_boundary(mp));
			if (w.depth + 1 > b->lim->max_depth) {
				if (n > 0)
					b->m->limits |= MSG_LIM_DEPTH;
				continue;
			}
			if (n > b->lim->max_parts) {
				n = b->lim->max_parts;
				b->m->limits |= MSG_LIM_PARTS;
			}
			if (sp + (size_t)n > cap) {
				cap = sp + (size_t)n + 64;
				stack = xreallocarray(stack, cap, sizeof(*stack));
			}
			/* push in reverse so parts come out in order */
			for (int i = n - 1; i >= 0; i--)
				stack[sp++] = (struct walk){
				    g_mime_multipart_get_part(mp, i), pt->index,
				    w.depth + 1 };
		} else if (GMIME_IS_MESSAGE_PART(w.obj)) {
			GMimeMessage *inner = g_mime_message_part_get_message(
			    GMIME_MESSAGE_PART(w.obj));
			GMimeObject *body = inner ? g_mime_message_get_mime_part(inner) : NULL;

			pt->flags |= PART_MESSAGE;
			if (body == NULL)
				continue;
			if (w.depth + 1 > b->lim->max_depth) {
				b->m->limits |= MSG_LIM_DEPTH;
				continue;
			}
			if (sp + 1 > cap) {
				cap += 64;
				stack = xreallocarray(stack, cap, sizeof(*stack));
			}
			stack[sp++] = (struct walk){ body, pt->index, w.depth + 1 };
		} else if (GMIME_IS_PART(w.obj)) {
			leaf_part(b, GMIME_PART(w.obj), pt);
		}
	}
	free(stack);
}

/*
 * The bytes GMime parses. GMime turns every header of the top-level
 * block into objects (and the root part keeps only the Content-* ones),
 * which cost more than the rest of its parse; when split_headers() found
 * a clean block, GMime gets just the Content-* headers as split here and
 * the body, which gives it the same root part and MIME tree. Otherwise
 * (a line without a colon, no end of the header block, NUL bytes, "Name
 * :", the header cap) GMime reads the block itself, as it was sent.
 */
static int
clean_block(const struct msg *m, const struct hdr_vec *hv, size_t start)
{
	return !hv->odd && !(m->anomalies & (MSG_NO_HEADER_END |
	    MSG_BAD_HEADER | MSG_NUL_BYTES)) && m->body_off >= start &&
	    m->scan_len - m->body_off <= G_MAXUINT / 2;
}

static GMimeStream *
mime_stream(const struct msg *m, const struct hdr_vec *hv, const char *raw,
    size_t start, int with_body)
{
	GByteArray *ba;
	size_t body = with_body ? m->scan_len - m->body_off : 0;

	if (!clean_block(m, hv, start))
		return g_mime_stream_mem_new_with_buffer(raw + start,
		    m->scan_len - start);
	ba = g_byte_array_sized_new((guint)(body + 256));
	for (size_t i = 0; i < hv->n; i++) {
		const struct msg_header *h = &hv->v[i];

		if (strncasecmp(h->name, "Content-", 8) != 0)
			continue;
		g_byte_array_append(ba, (const guint8 *)h->name,
		    (guint)strlen(h->name));
		g_byte_array_append(ba, (const guint8 *)": ", 2);
		g_byte_array_append(ba, (const guint8 *)h->raw,
		    (guint)strlen(h->raw));
		g_byte_array_append(ba, (const guint8 *)"\n", 1);
	}
	g_byte_array_append(ba, (const guint8 *)"\n", 1);
	g_byte_array_append(ba, (const guint8 *)raw + m->body_off, (guint)body);
	/* the stream owns the array */
	return g_mime_stream_mem_new_with_byte_array(ba);
}

/*
 * A top-level Content-Type that plainly names a multipart or message
 * type: a parse without the body would be done twice. Only a shortcut;
 * either way gives the same model.
 */
static int
container_type(const struct hdr_vec *hv)
{
	for (size_t i = 0; i < hv->n; i++) {
		const char *v = hv->v[i].raw;

		if (strcasecmp(hv->v[i].name, "Content-Type") != 0)
			continue;
		v += strspn(v, " \t");
		if (strncasecmp(v, "multipart/", 10) == 0 ||
		    strncasecmp(v, "message/", 8) == 0)
			return 1;
	}
	return 0;
}

static GMimeObject *
construct(GMimeStream *stream, GMimeParser **parser)
{
	*parser = g_mime_parser_new_with_stream(stream);
	g_mime_parser_set_format(*parser, GMIME_FORMAT_MESSAGE);
	return g_mime_parser_construct_part(*parser, NULL);
}

/*
 * The MIME tree. A clean header block is parsed first without the body:
 * when that gives a leaf part (most mail is one text part) in an encoding
 * decode_body() handles, the body is decoded by leaf_part() without GMime
 * scanning and copying it; else (multipart, message/rfc822, uuencode)
 * GMime parses the headers and the body. The model is the same.
 */
static GMimeObject *
parse_mime(struct builder *b, const char *raw, size_t start,
    GMimeParser **parser, GMimeStream **stream)
{
	const struct msg *m = b->m;
	GMimeObject *gm;

	if (clean_block(m, &b->hdrs, start) && !container_type(&b->hdrs)) {
		*stream = mime_stream(m, &b->hdrs, raw, start, 0);
		gm = construct(*stream, parser);
		if (gm && GMIME_IS_PART(gm) && body_decodable(
		    g_mime_part_get_content_encoding(GMIME_PART(gm)))) {
			b->root_body = raw + m->body_off;
			b->root_body_len = m->scan_len - m->body_off;
			return gm;
		}
		if (gm)
			g_object_unref(gm);
		g_object_unref(*parser);
		g_object_unref(*stream);
	}
	*stream = mime_stream(m, &b->hdrs, raw, start, 1);
	return construct(*stream, parser);
}

/*
 * A value of printable ASCII and tabs, maybe folded (LF or CRLF, then a
 * blank) but only right after a ';' (and blanks), where the fold is white
 * space between parameters however it is unfolded, and with no quotes
 * when folded. No "=?": GMime parses a Content-* value after RFC 2047
 * decoding (g_mime_header_get_value()), so "=?us-ascii?q?text/html?="
 * is text/html to it.
 */
static int
plain_value(const char *v)
{
	const char *s = v;
	int folded = 0, quoted = 0;

	for (; *v; v++) {
		if (*v == '\r' || *v == '\n') {
			const char *p = v;

			if (*v == '\r' && v[1] != '\n')
				return 0;
			if (*v == '\r')
				v++;
			if (v[1] != ' ' && v[1] != '\t')
				return 0;
			while (p > s && (p[-1] == ' ' || p[-1] == '\t'))
				p--;
			if (p == s || p[-1] != ';')
				return 0;
			folded = 1;
			continue;
		}
		if ((*v < 0x20 && *v != '\t') || *v > 0x7e)
			return 0;
		/* GMime decodes encoded words before it parses the value */
		if (*v == '=' && v[1] == '?')
			return 0;
		if (*v == '"')
			quoted = 1;
	}
	return !(folded && quoted);
}

/* a Content-Transfer-Encoding value that is one token, maybe blank-padded */
static int
plain_token(const char *v)
{
	size_t n = strspn(v, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.");

	return n > 0 && v[n + strspn(v + n, " \t")] == '\0';
}

/*
 * A leaf content type without a "name" parameter (the file name
 * g_mime_part_get_filename() falls back to); leaf_part() reads no other
 * parameter but the charset.
 */
static int
plain_leaf_type(GMimeContentType *ct)
{
	const char *type = g_mime_content_type_get_media_type(ct);
	GMimeParamList *pl = g_mime_content_type_get_parameters(ct);
	int n = pl ? g_mime_param_list_length(pl) : 0;

	if (type == NULL || g_ascii_strcasecmp(type, "multipart") == 0 ||
	    g_ascii_strcasecmp(type, "message") == 0)
		return 0;
	for (int i = 0; i < n; i++) {
		const char *name = g_mime_param_get_name(
		    g_mime_param_list_get_parameter_at(pl, i));

		if (name == NULL || g_ascii_strcasecmp(name, "name") == 0)
			return 0;
	}
	return 1;
}

/*
 * What simple_root() reads of a Content-Type value, kept per thread for
 * the values seen last. GMime's g_mime_content_type_parse() and the
 * teardown of the object it makes cost about 23,000 instructions a
 * message, more than the rest of simple_root(); the same few values
 * ("text/plain; charset=us-ascii") come again and again, and the parse
 * of a string is a function of the string, so an entry made from
 * GMime's answer for a value is that answer for the next copy of it.
 * Slots are picked by a hash of the value and overwritten on a
 * collision; values and answers too long for a slot are not kept.
 */
#define CT_CACHE	128
#define CT_KEY		160
#define CT_FIELD	64

struct ct_entry {
	char	key[CT_KEY];		/* the raw value; "" for a free slot */
	int	usable;			/* parsed, a leaf, no "name" */
	int	has_charset;
	char	ctype[CT_FIELD];	/* lowercased, as pt->ctype */
	char	charset[CT_FIELD];	/* lowercased, as pt->charset */
};

struct ct_cache {
	struct ct_entry e[CT_CACHE];
};

static __thread struct ct_cache *tls_ct;
static pthread_key_t ct_key;
static pthread_once_t ct_once = PTHREAD_ONCE_INIT;
static struct spare ct_spare = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* a thread ends: its cache goes to the shelf, or is freed */
static void
ct_cache_release(void *arg)
{
	if (!spare_keep(&ct_spare, arg))
		free(arg);
}

static void
ct_key_init(void)
{
	pthread_key_create(&ct_key, ct_cache_release);
}

/*
 * The root's content type from the Content-Type value raw: 0 when
 * simple_root() cannot take it (GMime parses no type, or one that is a
 * container or has a "name" parameter); else 1 with *ctype and *charset
 * (NULL when absent) lowercased in pool p, as GMime's objects give them.
 */
static int
leaf_content_type(struct pool *p, const char *raw, const char **ctype,
    const char **charset)
{
	struct ct_cache *c;
	struct ct_entry *e = NULL;
	GMimeContentType *type;
	size_t kl = strlen(raw);
	uint32_t h = 2166136261u;
	const char *cs;
	char *mt;
	int usable;

	if (kl < CT_KEY) {
		for (size_t i = 0; i < kl; i++)
			h = (h ^ (unsigned char)raw[i]) * 16777619u;
		pthread_once(&ct_once, ct_key_init);
		if ((c = tls_ct) == NULL) {
			if ((c = spare_take(&ct_spare)) == NULL)
				c = xcalloc(1, sizeof(*c));
			tls_ct = c;
			pthread_setspecific(ct_key, c);
		}
		e = &c->e[h % CT_CACHE];
		if (e->key[0] && strcmp(e->key, raw) == 0) {
			if (!e->usable)
				return 0;
			*ctype = pool_strdup(p, e->ctype);
			*charset = e->has_charset ? pool_strdup(p, e->charset) :
			    NULL;
			return 1;
		}
	}
	type = g_mime_content_type_parse(NULL, raw);
	usable = type != NULL && plain_leaf_type(type);
	if (usable) {
		mt = g_mime_content_type_get_mime_type(type);
		*ctype = lower_dup(p, mt ? mt : "text/plain");
		g_free(mt);
		cs = g_mime_content_type_get_parameter(type, "charset");
		*charset = lower_dup(p, cs);
	}
	if (type)
		g_object_unref(type);
	if (e == NULL || (usable && (strlen(*ctype) >= CT_FIELD ||
	    (*charset && strlen(*charset) >= CT_FIELD))))
		return usable;
	memcpy(e->key, raw, kl + 1);
	e->usable = usable;
	if (usable) {
		strcpy(e->ctype, *ctype);
		e->has_charset = *charset != NULL;
		strcpy(e->charset, *charset ? *charset : "");
	}
	return usable;
}

/*
 * Most mail is one text part with a plain header block. Then the root
 * part is built here as walk_mime() and leaf_part() build it from the
 * objects GMime makes of that block (the content type from GMime's own
 * parser, the encoding from GMime's names; the part's headers are the
 * block's Content-* headers as GMime would list them) and the body is
 * decoded by decode_body(), without a GMime parser, its header objects
 * and their teardown. The case is narrow on purpose: a clean block whose
 * Content-* headers are printable ASCII (see plain_value()), at most one
 * Content-Type (not multipart or message, no "name" parameter), at most
 * one Content-Transfer-Encoding (one token, an encoding decode_body()
 * handles) and at most one Content-Disposition without parameters (no
 * file name). Returns 0, having changed nothing, for anything else.
 */
static int
simple_root(struct builder *b, size_t start)
{
	const struct msg *m = b->m;
	const struct hdr_vec *hv = &b->hdrs;
	const struct msg_header *ct = NULL, *cte = NULL, *cd = NULL;
	GMimeContentDisposition *disp = NULL;
	GMimeContentEncoding enc = GMIME_CONTENT_ENCODING_DEFAULT;
	const char *ctype = "text/plain", *charset = NULL;
	struct msg_part *pt;
	size_t i;

	if (!clean_block(m, hv, start))
		return 0;
	for (i = 0; i < hv->n; i++) {
		const struct msg_header *h = &hv->v[i];

		if (strncasecmp(h->name, "Content-", 8) != 0)
			continue;
		if (!plain_value(h->raw))
			return 0;
		if (strcasecmp(h->name, "Content-Disposition") == 0) {
			if (cd != NULL)
				return 0;
			cd = h;
		} else if (strcasecmp(h->name, "Content-Type") == 0) {
			if (ct != NULL)
				return 0;
			ct = h;
		} else if (strcasecmp(h->name,
		    "Content-Transfer-Encoding") == 0) {
			if (cte != NULL || !plain_token(h->raw))
				return 0;
			cte = h;
		}
	}
	if (cte != NULL) {
		char tok[64];
		size_t n = strcspn(cte->raw, " \t");

		if (n >= sizeof(tok))
			return 0;
		memcpy(tok, cte->raw, n);
		tok[n] = '\0';
		enc = g_mime_content_encoding_from_string(tok);
		if (!body_decodable(enc))
			return 0;
	}
	if (cd != NULL) {
		GMimeParamList *pl;

		disp = g_mime_content_disposition_parse(NULL, cd->raw);
		pl = disp ? g_mime_content_disposition_get_parameters(disp) :
		    NULL;
		if (disp == NULL || (pl != NULL &&
		    g_mime_param_list_length(pl) > 0)) {
			if (disp)
				g_object_unref(disp);
			return 0;
		}
	}
	if (ct != NULL &&
	    !leaf_content_type(b->pool, ct->raw, &ctype, &charset)) {
		if (disp)
			g_object_unref(disp);
		return 0;
	}
	/* as walk_mime() for the root */
	if (b->nparts >= (size_t)b->lim->max_parts) {
		b->m->limits |= MSG_LIM_PARTS;
		if (disp)
			g_object_unref(disp);
		return 1;
	}
	pt = new_part(b, -1, 0);
	b->cur_part = pt->index;
	pt->ctype = ctype;
	/*
	 * as part_headers(): GMime would list the whole block, of which the
	 * root keeps the Content-* headers among the first MAX_PART_HEADERS
	 */
	pt->hdr_first = b->hdrs.n;
	for (i = 0; i < m->nmsg_hdrs && i < MAX_PART_HEADERS &&
	    b->hdrs.n < MAX_HEADERS; i++) {
		struct msg_header h = b->hdrs.v[i], *mh;

		if (strncasecmp(h.name, "Content-", 8) != 0)
			continue;
		mh = hdr_push(b->pool, &b->hdrs);
		*mh = h;	/* same name, raw and decoded value */
		mh->part = pt->index;
	}
	pt->nhdrs = b->hdrs.n - pt->hdr_first;
	/* as leaf_part(): no file name */
	pt->disposition = lower_dup(b->pool, disp ?
	    g_mime_content_disposition_get_disposition(disp) : NULL);
	pt->encoding = lower_dup(b->pool,
	    g_mime_content_encoding_to_string(enc));
	pt->charset = charset;
	if (pt->disposition && strcmp(pt->disposition, "attachment") == 0)
		pt->flags |= PART_ATTACHMENT;
	if (disp)
		g_object_unref(disp);
	b->root_body = m->raw + m->body_off;
	b->root_body_len = m->scan_len - m->body_off;
	leaf_body(b, pt, enc, NULL);
	return 1;
}

/* MIME could not be parsed: the whole body is one text/plain part */
static void
fallback_body(struct builder *b, const char *body, size_t len)
{
	struct msg_part *pt = new_part(b, -1, 0);
	struct buf t = BUF_INIT;
	int guessed;

	pt->ctype = "text/plain";
	pt->flags = PART_TEXT;
	if (len > b->lim->max_text)
		len = b->lim->max_text, b->m->limits |= MSG_LIM_TEXT;
	text_to_utf8(NULL, body, len, &t, &guessed);
	if (t.len)
		replace_nuls(t.p, t.len);
	pt->text = pool_strndup(b->pool, buf_str(&t), t.len);
	pt->text_len = t.len;
	pt->data = (const unsigned char *)pt->text;
	pt->size = t.len;
	buf_free(&t);
	b->cur_part = pt->index;
	uri_scan_text(pt->text, pt->text_len, text_uri_cb, b);
	add_bounded(b, &b->visible, pt->text, pt->text_len);
}

static void
copy_envelope(struct pool *p, struct envelope *dst, const struct envelope *src)
{
	memset(dst, 0, sizeof(*dst));
	if (src == NULL)
		return;
	dst->ip = pool_strdup(p, src->ip);
	dst->hostname = pool_strdup(p, src->hostname);
	dst->helo = pool_strdup(p, src->helo);
	dst->mail_from = pool_strdup(p, src->mail_from);
	dst->auth_user = pool_strdup(p, src->auth_user);
	dst->queue_id = pool_strdup(p, src->queue_id);
	if (src->nrcpt) {
		dst->rcpt = pool_allocarray(p, src->nrcpt, sizeof(char *));
		for (size_t i = 0; i < src->nrcpt; i++)
			dst->rcpt[i] = pool_strdup(p, src->rcpt[i]);
		dst->nrcpt = src->nrcpt;
	}
}

enum status
msg_parse(struct pool *pool, const char *raw, size_t len,
    const struct envelope *env, const struct msg_limits *lim,
    struct msg **out)
{
	struct msg *m = pool_alloc(pool, sizeof(*m));
	struct builder b;
	size_t start = 0;
	GMimeStream *stream;
	GMimeParser *parser;
	GMimeObject *gm;

	msg_global_init();
	memset(&b, 0, sizeof(b));
	b.pool = pool;
	b.m = m;
	b.lim = lim;
	html_budget_init(&b.html, lim->max_html_tags);
	m->raw = raw;
	m->raw_len = len;
	m->scan_len = len;
	m->pool = pool;
	if (len > lim->scan_max_size) {
		m->scan_len = lim->scan_max_size;
		m->limits |= MSG_LIM_SIZE;
	}
	copy_envelope(pool, &m->env, env);

	/* an mbox "From " line (procmail hands it over) is not a header */
	if (m->scan_len >= 5 && memcmp(raw, "From ", 5) == 0) {
		const char *nl = memchr(raw, '\n', m->scan_len);
		start = nl ? (size_t)(nl - raw) + 1 : m->scan_len;
	}
	m->body_off = split_headers(pool, m, raw, start, m->scan_len, &b.hdrs);
	m->nmsg_hdrs = b.hdrs.n;
	/* MIME structure from GMime (the NUL check is for the headers) */
	if (memchr(raw + m->body_off, 0, m->scan_len - m->body_off))
		m->anomalies |= MSG_NUL_BYTES;
	if (!simple_root(&b, start)) {
		gm = parse_mime(&b, raw, start, &parser, &stream);
		if (gm)
			walk_mime(&b, gm);
		else {
			m->anomalies |= MSG_MIME_BROKEN;
			fallback_body(&b, raw + m->body_off,
			    m->scan_len - m->body_off);
		}
		if (gm)
			g_object_unref(gm);
		g_object_unref(parser);
		g_object_unref(stream);
	}

	m->hdrs = b.hdrs.v;
	m->nhdrs = b.hdrs.n;
	m->parts = b.parts;
	m->nparts = b.nparts;
	m->uris = b.uris;
	m->nuris = b.nuris;
	m->visible = pool_strndup(pool, buf_str(&b.visible), b.visible.len);
	m->visible_len = b.visible.len;
	m->invisible = pool_strndup(pool, buf_str(&b.invisible), b.invisible.len);
	m->invisible_len = b.invisible.len;
	buf_free(&b.visible);
	buf_free(&b.invisible);
	buf_free(&b.nb);
	{
		const struct msg_header *h = msg_header(m, "Subject", 0);
		m->subject = h ? h->value : "";
	}
	*out = m;
	return ST_OK;
}

const char *
msg_part_sniffed(const struct msg *m, const struct msg_part *pt)
{
	/* a cache filled once: the part is otherwise read-only */
	struct msg_part *w = (struct msg_part *)pt;

	if (w->sniff) {
		w->sniff = 0;
		w->sniffed = sniff(m->pool, pt->data, pt->size);
	}
	return pt->sniffed;
}

const struct msg_header *
msg_header(const struct msg *m, const char *name, size_t i)
{
	for (size_t k = 0; k < m->nmsg_hdrs; k++)
		if (strcasecmp(m->hdrs[k].name, name) == 0 && i-- == 0)
			return &m->hdrs[k];
	return NULL;
}

size_t
msg_header_count(const struct msg *m, const char *name)
{
	size_t n = 0;

	for (size_t k = 0; k < m->nmsg_hdrs; k++)
		if (strcasecmp(m->hdrs[k].name, name) == 0)
			n++;
	return n;
}
