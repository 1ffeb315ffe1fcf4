/* SPDX-License-Identifier: MIT */
/*
 * impair.c — impair: a userspace L2 relay between two interfaces that
 * loses, duplicates, reorders and re-segments frames on the way. The test
 * kernel has no tc netem; this stands in for it between two veth ends.
 *
 * Usage:
 *   ip netns exec NS impair --a IF_A --b IF_B [options]
 *
 *   --a IF, --b IF        the two interfaces to bridge, both in this netns
 *   --dir both|a2b|b2a    directions to impair (default both); a direction
 *                         not chosen is relayed untouched
 *   --all                 impair every frame, not only TCP segments
 *   --loss P              drop the frame
 *   --dup P               send the frame (or what it became) twice
 *   --reorder P           hold the frame (or what it became) back until K
 *                         more frames have passed in its direction, or D ms
 *   --reorder-depth K     K, 1..64, default 3
 *   --reorder-ms D        D, 1..10000, default 20
 *   --resplit P           re-segment a TCP data segment into 2-4 segments
 *                         cut at random byte boundaries
 *   --overlap P           send a random sub-range of a TCP data segment as
 *                         an extra segment just before the full one, as an
 *                         overlapping retransmission would look
 *   --seed N              PRNG seed (default: from the clock; printed on
 *                         stderr either way, to replay a run)
 *   --stats               print the counters of each direction on exit
 *   --help
 *
 * P is a probability in [0, 1]. Per frame the draws are, in this order:
 * loss (a lost frame gets no other draw), overlap, resplit, dup, reorder.
 * Each is independent of the others and of the other direction; each
 * direction has its own PRNG stream (xorshift64* seeded by splitmix64), so
 * the same seed and the same frames give the same impairments.
 *
 * Prints "impair: ready" on stdout once both sockets are bound and the
 * interfaces promiscuous. SIGINT or SIGTERM: held frames are sent, the
 * counters printed (--stats), exit 0. A fatal socket error exits 1.
 *
 * How: one AF_PACKET raw socket per interface, bound with ETH_P_ALL, with
 * PACKET_MR_PROMISC membership (dropped by the kernel when the socket
 * closes) and PACKET_IGNORE_OUTGOING; frames of type PACKET_OUTGOING are
 * also skipped, so the relay never reads back what it sent. One thread
 * ppoll()s both sockets; the poll timeout is the deadline of the oldest
 * held frame. VLAN tags stripped by the kernel are put back from
 * PACKET_AUXDATA before the frame is parsed or relayed.
 *
 * Only TCP segments are impaired unless --all, so ARP, ND and everything
 * else pass untouched. Re-segmented and overlap segments copy the Ethernet,
 * VLAN, IP (with IPv4 options or IPv6 hop-by-hop / destination options)
 * and TCP headers (with options) of the original, then set the IPv4 total
 * length and header checksum or the IPv6 payload length, the TCP sequence
 * number of the piece, FIN and PSH only on a piece that ends the segment,
 * and a TCP checksum computed in full (RFC 9293 3.1, RFC 8200 8.1).
 *
 * Caveats:
 * - Rewrites need complete checksums in the original (offloads off, as in
 *   the lab). A segment whose IPv4 or TCP checksum does not verify is not
 *   rewritten (counter badcsum) but can still be lost, duplicated or held.
 * - Not rewritten: SYN, RST or URG segments, segments with less than two
 *   payload bytes, IPv4 fragments, and IPv6 with a routing, fragment or
 *   other extension header (those are not seen as TCP at all).
 * - Pieces keep the IPv4 identification of the original.
 * - Frames above 1514 bytes plus two VLAN tags are counted (oversize) and
 *   dropped; turn GRO/TSO off or they will be.
 * - A send the kernel refuses (e.g. ENOBUFS from a full veth backlog) is
 *   counted in txerr: that is loss the options did not ask for.
 * - At most 64 frames are held per direction; a frame held beyond that
 *   pushes the oldest one out early.
 * - One thread, one frame per system call: fine for tests, far from
 *   line rate.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/if_ether.h>
#include <linux/if_packet.h>

#define PROG "impair"

/* One 802.1Q or 802.1ad tag. */
#define TAG_LEN 4
/* 1514 bytes without FCS, plus up to two tags (QinQ). */
#define FRAME_MAX (ETH_FRAME_LEN + 2 * TAG_LEN)
/* Larger than FRAME_MAX + TAG_LEN, so a frame that is too big still shows. */
#define RX_BUF_LEN 2048
/* An overlap segment and up to PIECES_MAX pieces come out of one frame. */
#define PIECES_MAX 4
#define LIST_MAX (1 + PIECES_MAX)
/* Frames held per direction, frames read per socket per wakeup. */
#define HOLD_MAX 64
#define RX_BURST 64
#define SOCK_BUF_LEN (4 << 20)

#define IP4_HDR_MIN 20
#define IP6_HDR_LEN 40
#define TCP_HDR_MIN 20

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_URG 0x20

#define NS_PER_MS 1000000ULL

/* X-macro: one counter per outcome, named in the --stats line. */
#define IMPAIR_COUNTERS(X)                                                  \
	X(in)	      /* frames received */                                 \
	X(out)	      /* frames sent, extra copies and pieces included */   \
	X(dropped)    /* lost on purpose (--loss) */                        \
	X(duplicated) /* frames sent twice (--dup) */                       \
	X(reordered)  /* frames held back (--reorder) */                    \
	X(resplit)    /* segments re-segmented (--resplit) */               \
	X(overlap)    /* overlap segments sent (--overlap) */               \
	X(oversize)   /* frames above FRAME_MAX, dropped */                 \
	X(badcsum)    /* segments not rewritten: checksum did not verify */ \
	X(txerr)      /* sends the kernel refused */

/* clang-format off */
enum {
#define CNT_ENUM(name) CNT_##name,
	IMPAIR_COUNTERS(CNT_ENUM)
#undef CNT_ENUM
	CNT_MAX,
};
/* clang-format on */

static const char *const cnt_names[CNT_MAX] = {
#define CNT_NAME(name) #name,
	IMPAIR_COUNTERS(CNT_NAME)
#undef CNT_NAME
};

struct conf {
	const char *ifname[2];
	unsigned int dirmask; /* bit 0: a2b, bit 1: b2a */
	bool all;
	bool stats;
	double loss;
	double dup;
	double reorder;
	double resplit;
	double overlap;
	unsigned int reorder_depth;
	unsigned int reorder_ms;
	uint64_t seed;
	bool seed_set;
};

struct port {
	const char *name;
	unsigned int ifindex;
	int fd;
};

struct held {
	uint64_t deadline;   /* CLOCK_MONOTONIC ns */
	uint64_t release_at; /* value of dir->passed that releases it */
	uint16_t len;
	uint8_t data[FRAME_MAX];
};

struct dir {
	const char *name;
	struct port *rx;
	struct port *tx;
	bool impair;
	uint64_t rng;
	uint64_t passed; /* frames sent straight through, the reorder clock */
	unsigned int hold_head;
	unsigned int hold_count;
	struct held hold[HOLD_MAX];
	uint64_t cnt[CNT_MAX];
};

struct frame {
	const uint8_t *data;
	size_t len;
};

/* Offsets into a frame that parse_tcp() found to hold a TCP segment. */
struct tcpseg {
	size_t l3;  /* IP header */
	size_t l4;  /* TCP header */
	size_t pay; /* TCP payload */
	size_t end; /* end of the IP datagram; anything after is padding */
	bool v6;
};

struct impair {
	struct conf conf;
	struct port port[2];
	struct dir dir[2];
	uint8_t rxbuf[RX_BUF_LEN];
	uint8_t scratch[LIST_MAX][FRAME_MAX];
};

static struct impair g_impair;
static volatile sig_atomic_t g_stop;

/* ---- byte order, time, PRNG ---------------------------------------- */

static uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void
wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint32_t
rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void
wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* splitmix64 (Steele, Lea, Flood 2014): turns the seed into stream states. */
static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* xorshift64* (Vigna 2016); the state must not be 0. */
static uint64_t
rng_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dULL;
}

/* Uniform in [0, n), n > 0. The modulo bias is below 2^-40 for our n. */
static uint64_t
rng_below(struct dir *d, uint64_t n)
{
	return rng_next(&d->rng) % n;
}

/* True with probability p. No draw for p == 0, so unused options do not
 * shift the stream of the others. */
static bool
chance(struct dir *d, double p)
{
	if (p <= 0.0)
		return false;
	return (double)(rng_next(&d->rng) >> 11) * 0x1.0p-53 < p;
}

/* ---- Internet checksum (RFC 1071) ------------------------------------ */

/* Adds n bytes as big-endian 16-bit words; only the last chunk summed
 * may have an odd length. Fits 32 bits for any frame here. */
static uint32_t
csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += rd16(p + i);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

static uint16_t
csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* Sum of the TCP pseudo-header (RFC 9293 3.1; RFC 8200 8.1 for IPv6). */
static uint32_t
csum_pseudo(const uint8_t *f, const struct tcpseg *s)
{
	uint32_t sum = IPPROTO_TCP + (uint32_t)(s->end - s->l4);

	if (s->v6)
		return csum_add(sum, f + s->l3 + 8, 32);
	return csum_add(sum, f + s->l3 + 12, 8);
}

/* The TCP checksum over the segment as it stands, checksum field zeroed
 * by the caller. */
static uint16_t
csum_tcp(const uint8_t *f, const struct tcpseg *s)
{
	return (uint16_t)~csum_fold(csum_add(csum_pseudo(f, s), f + s->l4, s->end - s->l4));
}

/* ---- parsing ----------------------------------------------------------- */

/*
 * 0 if f holds a well-formed IPv4 or IPv6 TCP segment, with its offsets in
 * *s; -ENOENT for anything else, -EINVAL if a header is cut short or its
 * lengths disagree. Every length is checked against len before the read.
 */
static int
parse_tcp(const uint8_t *f, size_t len, struct tcpseg *s)
{
	size_t off = 2 * ETH_ALEN, hl;
	const uint8_t *ip;
	unsigned int tags;
	uint16_t type;
	uint8_t nh;

	if (len < ETH_HLEN)
		return -EINVAL;
	type = rd16(f + off);
	off += 2;
	for (tags = 0; tags < 2 && (type == ETH_P_8021Q || type == ETH_P_8021AD); tags++) {
		if (len < off + TAG_LEN)
			return -EINVAL;
		type = rd16(f + off + 2);
		off += TAG_LEN;
	}
	s->l3 = off;
	ip = f + off;
	if (type == ETH_P_IP) {
		if (len < off + IP4_HDR_MIN || ip[0] >> 4 != 4)
			return -EINVAL;
		hl = (size_t)(ip[0] & 0x0f) * 4;
		if (hl < IP4_HDR_MIN || rd16(ip + 2) < hl || len < off + rd16(ip + 2))
			return -EINVAL;
		/* MF set or a fragment offset: no whole TCP header to read. */
		if (rd16(ip + 6) & 0x3fff)
			return -ENOENT;
		if (ip[9] != IPPROTO_TCP)
			return -ENOENT;
		s->v6 = false;
		s->l4 = off + hl;
		s->end = off + rd16(ip + 2);
	} else if (type == ETH_P_IPV6) {
		if (len < off + IP6_HDR_LEN || ip[0] >> 4 != 6)
			return -EINVAL;
		if (len < off + IP6_HDR_LEN + rd16(ip + 4))
			return -EINVAL;
		s->v6 = true;
		s->end = off + IP6_HDR_LEN + rd16(ip + 4);
		s->l4 = off + IP6_HDR_LEN;
		nh = ip[6];
		/* Hop-by-hop and destination options (RFC 8200 4.3, 4.6) change
		 * neither addresses nor length semantics; a routing header
		 * would change the pseudo-header's destination, a fragment
		 * header hides the TCP header: both end the walk. Each step
		 * advances at least 8 bytes within end, so the walk is bounded. */
		while (nh == IPPROTO_HOPOPTS || nh == IPPROTO_DSTOPTS) {
			if (s->end < s->l4 + 8)
				return -EINVAL;
			hl = ((size_t)f[s->l4 + 1] + 1) * 8;
			if (s->end < s->l4 + hl)
				return -EINVAL;
			nh = f[s->l4];
			s->l4 += hl;
		}
		if (nh != IPPROTO_TCP)
			return -ENOENT;
	} else {
		return -ENOENT;
	}
	if (s->end < s->l4 + TCP_HDR_MIN)
		return -EINVAL;
	hl = (size_t)(f[s->l4 + 12] >> 4) * 4;
	if (hl < TCP_HDR_MIN || s->end < s->l4 + hl)
		return -EINVAL;
	s->pay = s->l4 + hl;
	return 0;
}

/*
 * 0 if the segment may be cut: data of at least 2 bytes, no SYN (its
 * sequence number is not the first data byte's), no RST, no URG (the
 * urgent pointer is relative to the sequence number), and checksums that
 * verify, so a corrupt frame is not laundered into a valid one.
 */
static int
rewritable(const uint8_t *f, const struct tcpseg *s)
{
	if (s->end - s->pay < 2)
		return -ENOENT;
	if (f[s->l4 + 13] & (TCP_SYN | TCP_RST | TCP_URG))
		return -ENOENT;
	if (!s->v6 && csum_fold(csum_add(0, f + s->l3, s->l4 - s->l3)) != 0xffff)
		return -EBADMSG;
	if (csum_fold(csum_add(csum_pseudo(f, s), f + s->l4, s->end - s->l4)) != 0xffff)
		return -EBADMSG;
	return 0;
}

/* ---- rewriting ---------------------------------------------------------- */

/*
 * Writes into dst a copy of segment f carrying only payload bytes
 * [off, off + n) and returns its length. The headers up to the payload
 * are copied whole, so IP and TCP options come along.
 */
static size_t
build_piece(uint8_t *dst, const uint8_t *f, const struct tcpseg *s, size_t off, size_t n)
{
	struct tcpseg p = *s;
	uint8_t *ip = dst + s->l3;
	uint8_t *tcp = dst + s->l4;

	memcpy(dst, f, s->pay);
	memcpy(dst + s->pay, f + s->pay + off, n);
	p.end = s->pay + n;
	if (p.v6) {
		wr16(ip + 4, (uint16_t)(p.end - s->l3 - IP6_HDR_LEN));
	} else {
		wr16(ip + 2, (uint16_t)(p.end - s->l3));
		wr16(ip + 10, 0);
		wr16(ip + 10, (uint16_t)~csum_fold(csum_add(0, ip, s->l4 - s->l3)));
	}
	wr32(tcp + 4, rd32(f + s->l4 + 4) + (uint32_t)off);
	/* FIN follows the last data byte and PSH marks the end of what was
	 * pushed: both belong to the piece that ends the segment only. */
	if (off + n != s->end - s->pay)
		tcp[13] &= (uint8_t) ~(TCP_FIN | TCP_PSH);
	wr16(tcp + 16, 0);
	wr16(tcp + 16, csum_tcp(dst, &p));
	return p.end;
}

/* An overlap segment: 1 to len-1 bytes from a random offset. */
static void
make_overlap(struct dir *d, const uint8_t *f, const struct tcpseg *s, uint8_t *dst,
	     struct frame *out)
{
	size_t plen = s->end - s->pay;
	size_t n = 1 + (size_t)rng_below(d, plen - 1);
	size_t off = (size_t)rng_below(d, plen - n + 1);

	out->data = dst;
	out->len = build_piece(dst, f, s, off, n);
}

/* Cuts the payload at 1 to 3 distinct random offsets; returns the number
 * of pieces, 2 to 4 (fewer than drawn when the payload is that short). */
static unsigned int
make_pieces(struct dir *d, const uint8_t *f, const struct tcpseg *s, uint8_t (*dst)[FRAME_MAX],
	    struct frame *out)
{
	size_t plen = s->end - s->pay;
	size_t cut[PIECES_MAX - 1] = { 0 };
	unsigned int want, ncut = 0, tries, i, j;
	size_t c;

	want = 2 + (unsigned int)rng_below(d, PIECES_MAX - 1);
	if (want > plen)
		want = (unsigned int)plen;
	/* Rejection sampling of distinct cuts in [1, plen - 1], insertion
	 * sorted; capped so a 2-byte payload cannot spin. */
	for (tries = 0; ncut + 1 < want && tries < 64; tries++) {
		c = 1 + (size_t)rng_below(d, plen - 1);
		for (i = 0; i < ncut && cut[i] < c; i++)
			;
		if (i < ncut && cut[i] == c)
			continue;
		for (j = ncut; j > i; j--)
			cut[j] = cut[j - 1];
		cut[i] = c;
		ncut++;
	}
	for (i = 0; i <= ncut; i++) {
		size_t from = i == 0 ? 0 : cut[i - 1];
		size_t to = i == ncut ? plen : cut[i];

		out[i].data = dst[i];
		out[i].len = build_piece(dst[i], f, s, from, to - from);
	}
	return ncut + 1;
}

/* ---- sending, holding --------------------------------------------------- */

static void
tx(struct dir *d, const uint8_t *f, size_t len)
{
	ssize_t n;

	do {
		n = send(d->tx->fd, f, len, 0);
	} while (n < 0 && errno == EINTR);
	if (n == (ssize_t)len)
		d->cnt[CNT_out]++;
	else
		d->cnt[CNT_txerr]++;
}

static void
hold_pop(struct dir *d)
{
	struct held *h = &d->hold[d->hold_head];

	tx(d, h->data, h->len);
	d->hold_head = (d->hold_head + 1) % HOLD_MAX;
	d->hold_count--;
}

/* Every frame is held for the same K frames and D ms, so release order is
 * arrival order and a ring suffices: only its head is ever due first. */
static void
hold_push(struct impair *im, struct dir *d, const uint8_t *f, size_t len)
{
	struct held *h;

	if (d->hold_count == HOLD_MAX)
		hold_pop(d);
	h = &d->hold[(d->hold_head + d->hold_count) % HOLD_MAX];
	h->deadline = now_ns() + im->conf.reorder_ms * NS_PER_MS;
	h->release_at = d->passed + im->conf.reorder_depth;
	h->len = (uint16_t)len;
	memcpy(h->data, f, len);
	d->hold_count++;
	d->cnt[CNT_reordered]++;
}

static void
hold_release_expired(struct dir *d, uint64_t now)
{
	while (d->hold_count > 0 && d->hold[d->hold_head].deadline <= now)
		hold_pop(d);
}

/* Sends a frame straight through; held frames it was the K-th to pass
 * follow it. */
static void
forward(struct dir *d, const uint8_t *f, size_t len)
{
	tx(d, f, len);
	d->passed++;
	while (d->hold_count > 0 && d->hold[d->hold_head].release_at <= d->passed)
		hold_pop(d);
}

static void
relay(struct impair *im, struct dir *d, const uint8_t *f, size_t len)
{
	const struct conf *c = &im->conf;
	struct frame list[LIST_MAX];
	bool tcp, want_overlap, want_resplit, reo;
	unsigned int n = 0, i, rep, reps = 1;
	struct tcpseg s;
	int rc = -ENOENT;

	tcp = parse_tcp(f, len, &s) == 0;
	if (!d->impair || (!c->all && !tcp)) {
		forward(d, f, len);
		return;
	}
	if (chance(d, c->loss)) {
		d->cnt[CNT_dropped]++;
		return;
	}
	want_overlap = chance(d, c->overlap);
	want_resplit = chance(d, c->resplit);
	if (tcp && (want_overlap || want_resplit)) {
		rc = rewritable(f, &s);
		if (rc == -EBADMSG)
			d->cnt[CNT_badcsum]++;
	}
	if (rc == 0 && want_overlap) {
		make_overlap(d, f, &s, im->scratch[n], &list[n]);
		n++;
		d->cnt[CNT_overlap]++;
	}
	if (rc == 0 && want_resplit) {
		n += make_pieces(d, f, &s, &im->scratch[n], &list[n]);
		d->cnt[CNT_resplit]++;
	} else {
		list[n].data = f;
		list[n].len = len;
		n++;
	}
	if (chance(d, c->dup)) {
		reps = 2;
		d->cnt[CNT_duplicated]++;
	}
	reo = chance(d, c->reorder);
	for (rep = 0; rep < reps; rep++) {
		for (i = 0; i < n; i++) {
			if (reo)
				hold_push(im, d, list[i].data, list[i].len);
			else
				forward(d, list[i].data, list[i].len);
		}
	}
}

/* ---- receiving -------------------------------------------------------- */

/*
 * Reads up to RX_BURST frames from d->rx and relays them. Returns 0, or
 * -errno on an error that ends the program (the interface is gone).
 */
static int
drain(struct impair *im, struct dir *d)
{
	union {
		struct cmsghdr h;
		uint8_t buf[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
	} ctl;
	/* Received TAG_LEN bytes in, so a stripped tag can be put back by
	 * moving the two MAC addresses instead of the whole frame. */
	uint8_t *rx = im->rxbuf + TAG_LEN;
	const struct tpacket_auxdata *aux;
	char ifname[IF_NAMESIZE];
	struct sockaddr_ll sll;
	struct cmsghdr *cm;
	struct msghdr msg;
	struct iovec iov;
	unsigned int i;
	uint8_t *f;
	ssize_t n;
	uint16_t tpid;
	size_t len;
	int err;

	for (i = 0; i < RX_BURST; i++) {
		iov.iov_base = rx;
		iov.iov_len = sizeof(im->rxbuf) - TAG_LEN;
		memset(&msg, 0, sizeof(msg));
		msg.msg_name = &sll;
		msg.msg_namelen = sizeof(sll);
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = ctl.buf;
		msg.msg_controllen = sizeof(ctl.buf);
		n = recvmsg(d->rx->fd, &msg, MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0) {
			err = errno;
			if (err == EAGAIN || err == EWOULDBLOCK || err == EINTR)
				return 0;
			/* Down: the kernel re-hooks the socket when the link
			 * comes back up. Unregistered: it never will. */
			if (err == ENETDOWN && if_indextoname(d->rx->ifindex, ifname) == NULL)
				return -ENODEV;
			if (err == ENETDOWN)
				return 0;
			return -err;
		}
		if (sll.sll_pkttype == PACKET_OUTGOING)
			continue;
		d->cnt[CNT_in]++;
		f = rx;
		len = (size_t)n;
		for (cm = CMSG_FIRSTHDR(&msg); cm != NULL; cm = CMSG_NXTHDR(&msg, cm)) {
			if (cm->cmsg_level != SOL_PACKET || cm->cmsg_type != PACKET_AUXDATA ||
			    cm->cmsg_len < CMSG_LEN(sizeof(*aux)))
				continue;
			aux = (const struct tpacket_auxdata *)CMSG_DATA(cm);
			if (!(aux->tp_status & TP_STATUS_VLAN_VALID) && aux->tp_vlan_tci == 0)
				continue;
			if (len < 2 * ETH_ALEN || len > iov.iov_len)
				continue;
			tpid = ETH_P_8021Q;
			if (aux->tp_status & TP_STATUS_VLAN_TPID_VALID)
				tpid = aux->tp_vlan_tpid;
			/* tp_vlan_tpid and tp_vlan_tci are in host order. */
			f = im->rxbuf;
			memmove(f, rx, 2 * ETH_ALEN);
			wr16(f + 2 * ETH_ALEN, tpid);
			wr16(f + 2 * ETH_ALEN + 2, aux->tp_vlan_tci);
			len += TAG_LEN;
		}
		if (len > FRAME_MAX) {
			d->cnt[CNT_oversize]++;
			continue;
		}
		relay(im, d, f, len);
	}
	return 0;
}

/* ---- set-up -------------------------------------------------------------- */

static int
port_open(struct port *p, const char *name)
{
	struct packet_mreq mr;
	struct sockaddr_ll sll;
	int one = 1, sz = SOCK_BUF_LEN, rc;

	p->name = name;
	p->ifindex = if_nametoindex(name);
	if (p->ifindex == 0) {
		rc = -errno;
		fprintf(stderr, PROG ": cannot find interface %s: %s\n", name, strerror(-rc));
		return rc;
	}
	/* Protocol 0: the socket receives nothing until bind() names the
	 * interface, so no frame of another interface slips in. */
	p->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (p->fd < 0) {
		rc = -errno;
		fprintf(stderr, PROG ": cannot open packet socket for %s: %s\n", name,
			strerror(-rc));
		return rc;
	}
	memset(&mr, 0, sizeof(mr));
	mr.mr_ifindex = (int)p->ifindex;
	mr.mr_type = PACKET_MR_PROMISC;
	if (setsockopt(p->fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)) < 0) {
		rc = -errno;
		fprintf(stderr, PROG ": cannot make %s promiscuous: %s\n", name, strerror(-rc));
		goto err_close;
	}
	if (setsockopt(p->fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof(one)) < 0) {
		rc = -errno;
		fprintf(stderr, PROG ": cannot enable PACKET_AUXDATA on %s: %s\n", name,
			strerror(-rc));
		goto err_close;
	}
	/* Before Linux 4.20 this fails; the PACKET_OUTGOING check in drain()
	 * then does the same job at the cost of a copy per frame sent. */
	(void)setsockopt(p->fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
	/* Room for bursts while the other socket is served; the FORCE form
	 * passes rmem_max as root, the plain one is the fallback. */
	if (setsockopt(p->fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		(void)setsockopt(p->fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	if (setsockopt(p->fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) < 0)
		(void)setsockopt(p->fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = (int)p->ifindex;
	if (bind(p->fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		rc = -errno;
		fprintf(stderr, PROG ": cannot bind to %s: %s\n", name, strerror(-rc));
		goto err_close;
	}
	return 0;

err_close:
	close(p->fd);
	p->fd = -1;
	return rc;
}

static void
on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

/* ---- main loop ------------------------------------------------------------ */

static int
run(struct impair *im, const sigset_t *unblocked)
{
	struct pollfd pfd[2];
	struct timespec ts, *tsp;
	uint64_t now, next;
	unsigned int i;
	int rc;

	for (i = 0; i < 2; i++) {
		pfd[i].fd = im->port[i].fd;
		pfd[i].events = POLLIN;
	}
	while (!g_stop) {
		now = now_ns();
		next = UINT64_MAX;
		for (i = 0; i < 2; i++) {
			hold_release_expired(&im->dir[i], now);
			if (im->dir[i].hold_count > 0 &&
			    im->dir[i].hold[im->dir[i].hold_head].deadline < next)
				next = im->dir[i].hold[im->dir[i].hold_head].deadline;
		}
		tsp = NULL;
		if (next != UINT64_MAX) {
			ts.tv_sec = (time_t)((next - now) / 1000000000ULL);
			ts.tv_nsec = (long)((next - now) % 1000000000ULL);
			tsp = &ts;
		}
		/* SIGINT and SIGTERM are blocked except inside ppoll(), so a
		 * signal either interrupts it or is seen by the loop test. */
		rc = ppoll(pfd, 2, tsp, unblocked);
		if (rc < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			fprintf(stderr, PROG ": poll failed: %s\n", strerror(-rc));
			return rc;
		}
		/* port i feeds direction i: a2b reads a, b2a reads b. */
		for (i = 0; i < 2; i++) {
			if (!(pfd[i].revents & (POLLIN | POLLERR | POLLHUP | POLLNVAL)))
				continue;
			rc = drain(im, &im->dir[i]);
			if (rc < 0) {
				fprintf(stderr, PROG ": cannot receive on %s: %s\n",
					im->port[i].name, strerror(-rc));
				return rc;
			}
		}
	}
	return 0;
}

static void
print_stats(const struct impair *im)
{
	const struct dir *d;
	unsigned int i, k;

	for (i = 0; i < 2; i++) {
		d = &im->dir[i];
		printf(PROG ": stats %s (%s -> %s)", d->name, d->rx->name, d->tx->name);
		for (k = 0; k < CNT_MAX; k++)
			printf(" %s %" PRIu64, cnt_names[k], d->cnt[k]);
		printf("\n");
	}
	fflush(stdout);
}

/* ---- options ------------------------------------------------------------- */

static void
usage(FILE *out)
{
	fputs("usage: " PROG " --a IF_A --b IF_B [options]\n"
	      "Relays frames between IF_A and IF_B (AF_PACKET, promiscuous), impairing\n"
	      "TCP segments on the way. Run it in the namespace holding both interfaces.\n"
	      "\n"
	      "  --dir both|a2b|b2a   directions to impair (default both)\n"
	      "  --all                impair every frame, not only TCP (ARP included)\n"
	      "  --loss P             drop the frame\n"
	      "  --dup P              send the frame (or its pieces) twice\n"
	      "  --reorder P          hold the frame back for K frames or D ms\n"
	      "  --reorder-depth K    K, 1..64 (default 3)\n"
	      "  --reorder-ms D       D, 1..10000 (default 20)\n"
	      "  --resplit P          re-segment a TCP data segment into 2-4 segments\n"
	      "  --overlap P          send a random sub-range of a TCP data segment\n"
	      "                       before it, as an overlapping retransmission\n"
	      "  --seed N             PRNG seed (default from the clock; printed on stderr)\n"
	      "  --stats              print per-direction counters on exit\n"
	      "  --help               this text\n"
	      "\n"
	      "P is a probability in [0, 1]. Draw order per frame: loss, overlap, resplit,\n"
	      "dup, reorder. Prints \"impair: ready\" once bound; SIGINT/SIGTERM sends held\n"
	      "frames, prints the counters (--stats) and exits 0.\n"
	      "Example: ip netns exec imp-m " PROG " --a a1 --b b1 --loss 0.05 --reorder 0.05 \\\n"
	      "           --dup 0.05 --resplit 0.1 --overlap 0.05 --seed 1 --stats\n",
	      out);
}

static int
parse_prob(const char *opt, const char *arg, double *p)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (errno != 0 || end == arg || *end != '\0' || !(v >= 0.0 && v <= 1.0)) {
		fprintf(stderr, PROG ": --%s wants a probability in [0, 1], not '%s'\n", opt, arg);
		return -EINVAL;
	}
	*p = v;
	return 0;
}

static int
parse_u64(const char *opt, const char *arg, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(arg, &end, 0);
	if (errno != 0 || end == arg || *end != '\0' || arg[0] == '-' || v < min || v > max) {
		fprintf(stderr,
			PROG ": --%s wants an integer in [%" PRIu64 ", %" PRIu64 "], not '%s'\n",
			opt, min, max, arg);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

enum {
	OPT_A = 'a',
	OPT_B = 'b',
	OPT_HELP = 'h',
	OPT_DIR = 256,
	OPT_ALL,
	OPT_LOSS,
	OPT_DUP,
	OPT_REORDER,
	OPT_REORDER_DEPTH,
	OPT_REORDER_MS,
	OPT_RESPLIT,
	OPT_OVERLAP,
	OPT_SEED,
	OPT_STATS,
};

static const struct option long_opts[] = {
	{ "a", required_argument, NULL, OPT_A },
	{ "b", required_argument, NULL, OPT_B },
	{ "dir", required_argument, NULL, OPT_DIR },
	{ "all", no_argument, NULL, OPT_ALL },
	{ "loss", required_argument, NULL, OPT_LOSS },
	{ "dup", required_argument, NULL, OPT_DUP },
	{ "reorder", required_argument, NULL, OPT_REORDER },
	{ "reorder-depth", required_argument, NULL, OPT_REORDER_DEPTH },
	{ "reorder-ms", required_argument, NULL, OPT_REORDER_MS },
	{ "resplit", required_argument, NULL, OPT_RESPLIT },
	{ "overlap", required_argument, NULL, OPT_OVERLAP },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "stats", no_argument, NULL, OPT_STATS },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

/* 0 to run, 1 after --help, -EINVAL on a bad command line. */
static int
parse_args(int argc, char **argv, struct conf *c)
{
	uint64_t v;
	int opt, i;

	memset(c, 0, sizeof(*c));
	c->dirmask = 3;
	c->reorder_depth = 3;
	c->reorder_ms = 20;
	while ((opt = getopt_long(argc, argv, "a:b:h", long_opts, NULL)) != -1) {
		switch (opt) {
		case OPT_A:
		case OPT_B:
			if (strnlen(optarg, IF_NAMESIZE) >= IF_NAMESIZE || optarg[0] == '\0') {
				fprintf(stderr, PROG ": bad interface name '%s'\n", optarg);
				return -EINVAL;
			}
			c->ifname[opt == OPT_B] = optarg;
			break;
		case OPT_DIR:
			if (strcmp(optarg, "both") == 0) {
				c->dirmask = 3;
			} else if (strcmp(optarg, "a2b") == 0) {
				c->dirmask = 1;
			} else if (strcmp(optarg, "b2a") == 0) {
				c->dirmask = 2;
			} else {
				fprintf(stderr, PROG ": --dir wants both, a2b or b2a, not '%s'\n",
					optarg);
				return -EINVAL;
			}
			break;
		case OPT_ALL:
			c->all = true;
			break;
		case OPT_LOSS:
			if (parse_prob("loss", optarg, &c->loss) < 0)
				return -EINVAL;
			break;
		case OPT_DUP:
			if (parse_prob("dup", optarg, &c->dup) < 0)
				return -EINVAL;
			break;
		case OPT_REORDER:
			if (parse_prob("reorder", optarg, &c->reorder) < 0)
				return -EINVAL;
			break;
		case OPT_RESPLIT:
			if (parse_prob("resplit", optarg, &c->resplit) < 0)
				return -EINVAL;
			break;
		case OPT_OVERLAP:
			if (parse_prob("overlap", optarg, &c->overlap) < 0)
				return -EINVAL;
			break;
		case OPT_REORDER_DEPTH:
			if (parse_u64("reorder-depth", optarg, 1, HOLD_MAX, &v) < 0)
				return -EINVAL;
			c->reorder_depth = (unsigned int)v;
			break;
		case OPT_REORDER_MS:
			if (parse_u64("reorder-ms", optarg, 1, 10000, &v) < 0)
				return -EINVAL;
			c->reorder_ms = (unsigned int)v;
			break;
		case OPT_SEED:
			if (parse_u64("seed", optarg, 0, UINT64_MAX, &c->seed) < 0)
				return -EINVAL;
			c->seed_set = true;
			break;
		case OPT_STATS:
			c->stats = true;
			break;
		case OPT_HELP:
			usage(stdout);
			return 1;
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, PROG ": unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	for (i = 0; i < 2; i++) {
		if (c->ifname[i] == NULL) {
			fprintf(stderr, PROG ": --%c IF is required (see --help)\n", 'a' + i);
			return -EINVAL;
		}
	}
	if (strcmp(c->ifname[0], c->ifname[1]) == 0) {
		fprintf(stderr, PROG ": --a and --b name the same interface\n");
		return -EINVAL;
	}
	return 0;
}

static void
dirs_init(struct impair *im)
{
	static const char *const names[2] = { "a2b", "b2a" };
	uint64_t x = im->conf.seed;
	unsigned int i;

	for (i = 0; i < 2; i++) {
		struct dir *d = &im->dir[i];

		d->name = names[i];
		d->rx = &im->port[i];
		d->tx = &im->port[1 - i];
		d->impair = (im->conf.dirmask >> i) & 1;
		do {
			d->rng = splitmix64(&x);
		} while (d->rng == 0);
	}
}

int
main(int argc, char **argv)
{
	static const char *const dir_names[4] = { "none", "a2b", "b2a", "both ways" };
	struct impair *im = &g_impair;
	struct sigaction sa;
	sigset_t block, unblocked;
	int rc;

	rc = parse_args(argc, argv, &im->conf);
	if (rc != 0)
		return rc > 0 ? 0 : 2;
	if (!im->conf.seed_set)
		im->conf.seed = now_ns() ^ ((uint64_t)getpid() << 32);
	dirs_init(im);

	/* Signals first, so one arriving during set-up is not lost. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &block, &unblocked) < 0) {
		fprintf(stderr, PROG ": cannot block signals: %s\n", strerror(errno));
		return 1;
	}
	sigdelset(&unblocked, SIGINT);
	sigdelset(&unblocked, SIGTERM);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	rc = port_open(&im->port[0], im->conf.ifname[0]);
	if (rc < 0)
		goto err_port_a;
	rc = port_open(&im->port[1], im->conf.ifname[1]);
	if (rc < 0)
		goto err_port_b;

	fprintf(stderr, PROG ": %s <-> %s, impairing %s, seed %" PRIu64 "\n", im->port[0].name,
		im->port[1].name, dir_names[im->conf.dirmask], im->conf.seed);
	printf(PROG ": ready\n");
	fflush(stdout);

	rc = run(im, &unblocked);

	/* Held frames were received and not lost on purpose: send them. */
	while (im->dir[0].hold_count > 0)
		hold_pop(&im->dir[0]);
	while (im->dir[1].hold_count > 0)
		hold_pop(&im->dir[1]);
	if (im->conf.stats)
		print_stats(im);

	close(im->port[1].fd);
err_port_b:
	close(im->port[0].fd);
err_port_a:
	return rc < 0 ? 1 : 0;
}
