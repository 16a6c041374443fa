/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vsa_compiler.h — small compiler helpers shared by every module.
 *
 * Kept free of DPDK so that hv/, the protocol parsers and the tools build
 * without it.
 */
#ifndef VSA_COMPILER_H
#define VSA_COMPILER_H

#define VSA_LIKELY(x)   __builtin_expect(!!(x), 1)
#define VSA_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define VSA_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define VSA_UNUSED __attribute__((unused))
#define VSA_ALWAYS_INLINE __attribute__((always_inline))
#define VSA_CACHE_LINE 64
#define VSA_CACHE_ALIGNED __attribute__((aligned(VSA_CACHE_LINE)))
#define VSA_PRINTF(f, a) __attribute__((format(printf, f, a)))

#endif /* VSA_COMPILER_H */
