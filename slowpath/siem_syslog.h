/* SPDX-License-Identifier: MIT */
/*
 * siem_syslog.h — an exported event as an RFC 5424 syslog message, and
 * RFC 6587 octet-counting framing for a stream (TCP, TLS).
 *
 *   <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD-ID seq="N"
 *   leaf="HEX" prev="HEX" fmt="F"] MSG
 *
 * PRI = facility * 8 + severity (RFC 5424 6.2.1); TIMESTAMP is the
 * record's ts (RFC 3339 UTC with microseconds, which 6.2.3 allows);
 * MSGID the record's event.type; the structured data carries the
 * integrity fields of siem_format.h, so a receiver that keeps only the
 * SD element still sees gaps; MSG the formatted event (UTF-8, no BOM:
 * RFC 5424 6.4 makes it optional). The SD-ID is "name@PEN" (7.2.2): the
 * default, tollgate@32473, uses the PEN RFC 5612 reserves for
 * documentation; an operator with a PEN of their own configures it.
 *
 * Header fields are PRINTUSASCII (33..126) of bounded length (6): other
 * bytes become '_', an empty field NILVALUE '-'. SD parameter values
 * escape '"', '\' and ']' with a backslash (6.3.3).
 *
 * Framing. Over TCP and TLS each message is "MSG-LEN SP SYSLOG-MSG"
 * (RFC 6587 3.4.1, RFC 5425 4.3): lengths, not line ends, delimit
 * messages, so a multi-line statement cannot split one (LF framing,
 * 3.4.2, can). Over UDP (RFC 5426) a datagram is one message, unframed.
 */
#ifndef TG_SIEM_SYSLOG_H
#define TG_SIEM_SYSLOG_H

#include <stddef.h>
#include <stdint.h>

#define TG_SYSLOG_HOSTNAME_MAX 255 /* RFC 5424 6.2.4 */
#define TG_SYSLOG_APPNAME_MAX 48
#define TG_SYSLOG_PROCID_MAX 128
#define TG_SYSLOG_MSGID_MAX 32
#define TG_SYSLOG_SDNAME_MAX 32
#define TG_SYSLOG_FACILITY_DEFAULT 13 /* log audit (6.2.1) */
#define TG_SYSLOG_SDID_DEFAULT "tollgate@32473"
#define TG_SYSLOG_FRAME_PREFIX_MAX 12 /* "8192 " and then some */

struct tg_syslog_header {
	unsigned int facility; /* 0..23 */
	unsigned int severity; /* 0..7 */
	const char *ts;	       /* NULL or "": NILVALUE */
	const char *hostname;
	const char *app_name;
	const char *procid;
	const char *msgid;
	const char *sd_id; /* "name@PEN", PRINTUSASCII without '=', ' ', ']', '"' */
};

/*
 * The header and structured data of a message (everything before MSG,
 * with the space that ends it) for the event of record seq, with its
 * leaf and prev_chain hashes (hex) and format name, into buf[0..size),
 * NUL-terminated. Returns the length or -EMSGSIZE / -EINVAL (facility or
 * severity out of range).
 */
int tg_syslog_head(char *buf, size_t size, const struct tg_syslog_header *h, uint64_t seq,
		   const char *leaf, const char *prev, const char *fmt);

/*
 * src[0..len) as an SD-PARAM value, '"', '\' and ']' escaped, into
 * dst[0..size) NUL-terminated. Returns the length or -EMSGSIZE.
 */
int tg_syslog_sd_escape(char *dst, size_t size, const char *src, size_t len);

/*
 * The octet-counting prefix "LEN " of a message of len bytes into
 * dst[0..size). Returns its length or -EMSGSIZE.
 */
int tg_syslog_frame_prefix(char *dst, size_t size, size_t len);

/* Is s a valid SD-ID ("name" or "name@digits", 1..32 PRINTUSASCII without = SP ] ")? */
int tg_syslog_sd_id_valid(const char *s);

#endif /* TG_SIEM_SYSLOG_H */
