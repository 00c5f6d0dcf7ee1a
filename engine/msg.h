/*
 * msg.h - the parsed message model (PARSE stage output).
 *
 * msg_parse() turns raw RFC 5322 bytes into headers (raw and RFC 2047
 * decoded), a flattened MIME tree, UTF-8 text (visible and invisible),
 * URIs and attachments, using GMime 3 for MIME and gumbo for HTML.
 *
 * Everything in a struct msg is allocated from the pool given to
 * msg_parse() and is read-only afterwards (msg_part_sniffed() fills its
 * member on first use); checks in later stages only read it. The
 * exceptions point into the caller's raw bytes, which must outlive the
 * msg: raw itself, and the data of a part whose bytes needed no transfer
 * decoding. Inbound X-Spam-* headers are kept apart (msg->nspam_hdrs)
 * and never appear in hdrs[], so no check can see them.
 */
#ifndef HAMLET_MSG_H
#define HAMLET_MSG_H

#include <stddef.h>

#include "pool.h"
#include "status.h"

struct cfg;

/* what the caller (MTA, CLI) knows about the SMTP transaction */
struct envelope {
	const char	 *ip;		/* client address, NULL if unknown */
	const char	 *hostname;	/* client's verified name */
	const char	 *helo;
	const char	 *mail_from;	/* without <> */
	const char	**rcpt;		/* without <> */
	size_t		  nrcpt;
	const char	 *auth_user;	/* SMTP AUTH user, NULL if none */
	const char	 *queue_id;	/* MTA queue id, for logs */
};

struct msg_header {
	const char	*name;		/* as written */
	const char	*raw;		/* value as written, folding kept, no CRLF at end */
	const char	*value;		/* unfolded, RFC 2047 decoded, UTF-8 */
	int		 part;		/* -1: message header; else part index */
};

enum msg_part_flags {
	PART_TEXT	= 1 << 0,	/* text/plain or text/html etc. decoded to text */
	PART_HTML	= 1 << 1,
	PART_ATTACHMENT	= 1 << 2,	/* has a file name or disposition attachment */
	PART_MULTIPART	= 1 << 3,
	PART_MESSAGE	= 1 << 4,	/* message/rfc822 container */
	PART_CHARSET_GUESSED = 1 << 5,	/* declared charset unknown or wrong */
	PART_TRUNCATED	= 1 << 6,	/* content cut by a limit */
	PART_BAD_ENCODING = 1 << 7	/* undecodable transfer encoding */
};

struct msg_part {
	int		 index;
	int		 parent;	/* -1 for the root */
	int		 depth;		/* root is 0 */
	unsigned	 flags;
	const char	*ctype;		/* lowercased "type/subtype" */
	const char	*charset;	/* declared, lowercased, or NULL */
	const char	*encoding;	/* Content-Transfer-Encoding, lowercased */
	const char	*filename;	/* UTF-8, or NULL */
	const char	*disposition;	/* "inline", "attachment" or NULL */
	const char	*sniffed;	/* read it through msg_part_sniffed() */
	const char	*boundary;	/* multipart boundary or NULL */
	const unsigned char *data;	/* decoded bytes (no multiparts); maybe in raw */
	size_t		 size;		/* decoded size */
	const char	*text;		/* UTF-8 text of text parts (HTML: source) */
	size_t		 text_len;
	const char	*rendered;	/* HTML parts: visible text */
	size_t		 rendered_len;
	size_t		 hdr_first;	/* this part's headers: hdrs[hdr_first..+nhdrs] */
	size_t		 nhdrs;
	int		 sniff;		/* msg.c's: sniffed not looked for yet */
};

enum msg_uri_source { URI_TEXT, URI_HREF, URI_SRC, URI_BARE, URI_FORM };

struct msg_uri {
	const char	*uri;		/* normalized: lowercase scheme and host */
	const char	*host;		/* lowercase, no port; NULL for mailto etc */
	const char	*text;		/* HTML anchor text or NULL */
	enum msg_uri_source source;
	int		 part;
};

/* limits breached while parsing; recorded, never fatal */
enum msg_limit_flags {
	MSG_LIM_SIZE	= 1 << 0,	/* message longer than scan_max_size */
	MSG_LIM_PARTS	= 1 << 1,
	MSG_LIM_DEPTH	= 1 << 2,
	MSG_LIM_DECODED	= 1 << 3,
	MSG_LIM_TEXT	= 1 << 4,
	MSG_LIM_HTML	= 1 << 5,
	MSG_LIM_URIS	= 1 << 6
};

enum msg_anomaly_flags {
	MSG_NO_HEADER_END = 1 << 0,	/* no empty line between header and body */
	MSG_NUL_BYTES	= 1 << 1,
	MSG_8BIT_HEADERS = 1 << 2,	/* raw non-ASCII bytes in headers */
	MSG_BAD_HEADER	= 1 << 3,	/* header line without a colon */
	MSG_MIME_BROKEN	= 1 << 4,	/* GMime could not build a tree */
	MSG_CRLF	= 1 << 5	/* lines end in CRLF */
};

struct msg_limits {
	size_t	 scan_max_size;
	int	 max_parts;
	int	 max_depth;
	size_t	 max_decoded;
	size_t	 max_text;
	int	 max_html_tags;
	int	 max_uris;
};

struct msg {
	const char	*raw;		/* the bytes given to msg_parse (not copied) */
	size_t		 raw_len;
	size_t		 scan_len;	/* bytes actually parsed */
	size_t		 body_off;	/* offset of the body in raw */

	struct msg_header *hdrs;	/* message headers, then part headers */
	size_t		 nhdrs;
	size_t		 nmsg_hdrs;	/* hdrs[0..nmsg_hdrs) are the top-level ones */
	size_t		 nspam_hdrs;	/* inbound X-Spam-* headers dropped */

	struct msg_part	*parts;
	size_t		 nparts;

	const char	*subject;	/* decoded Subject or "" */
	const char	*visible;	/* all visible body text, UTF-8, parts joined by "\n" */
	size_t		 visible_len;
	const char	*invisible;	/* hidden HTML text and comments */
	size_t		 invisible_len;

	struct msg_uri	*uris;
	size_t		 nuris;

	unsigned	 limits;	/* enum msg_limit_flags */
	unsigned	 anomalies;	/* enum msg_anomaly_flags */
	struct envelope	 env;		/* deep copy into the pool */
	struct pool	*pool;		/* msg.c's: for what is made on first use */
};

/* Limits from a config. */
void msg_limits_from_cfg(struct msg_limits *l, const struct cfg *c);

/* One-time library setup (g_mime_init); safe to call more than once. */
void msg_global_init(void);

/*
 * Parse raw bytes. raw must outlive the msg. Never fails on bad mail: a
 * broken message still yields headers and text where possible, with
 * anomalies recorded. env may be NULL.
 */
enum status msg_parse(struct pool *pool, const char *raw, size_t len,
    const struct envelope *env, const struct msg_limits *lim,
    struct msg **out /* OUT */);

/*
 * The i-th (0-based) top-level header named name (case-insensitive), or
 * NULL. Never returns X-Spam-* headers.
 */
const struct msg_header *msg_header(const struct msg *m, const char *name,
    size_t i);
/* Number of top-level headers named name. */
size_t msg_header_count(const struct msg *m, const char *name);

/*
 * When line (len bytes) starts a header field, the length of its name
 * (and in *colon, may be NULL, the offset of its colon: "Name :" is
 * accepted); 0 when it does not. The one definition of a header line,
 * shared by the parser and the tagger.
 */
size_t msg_header_name_len(const char *line, size_t len, size_t *colon);

/*
 * The content type libmagic finds in a part's decoded bytes, or NULL
 * (not a leaf, no bytes, text other than an attachment, or not known).
 * Looked for on the first call only (libmagic costs more than the rest of
 * a small message's parse and only some readers want it) and kept in the
 * message's pool; the one member of a msg written after msg_parse(), so
 * call it from the thread that scans the message.
 */
const char *msg_part_sniffed(const struct msg *m, const struct msg_part *pt);

/* 1 if name is an inbound filter header hamlet must ignore (X-Spam-*). */
int msg_is_spam_header(const char *name, size_t len);

#endif
