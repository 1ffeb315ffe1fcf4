/* SPDX-License-Identifier: MIT */
/*
 * wire.h — big-endian reads and writes of packet and protocol fields, byte
 * by byte, so no unaligned cast is ever made on packet memory. The compiler
 * turns each into one load or store and a byte swap.
 */
#ifndef TG_WIRE_H
#define TG_WIRE_H

#include <stdint.h>

static inline uint16_t
tg_rd16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static inline uint32_t
tg_rd32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static inline void
tg_wr16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static inline void
tg_wr32(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)(v >> 24);
	b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8);
	b[3] = (uint8_t)v;
}

#endif /* TG_WIRE_H */
