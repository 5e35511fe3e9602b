#ifndef TIDEMARK_CZLIB_SHIM_H
#define TIDEMARK_CZLIB_SHIM_H

#include <zlib.h>

// deflateInit2/inflateInit2 are macros (they pass ZLIB_VERSION and sizeof(z_stream)), which
// Swift cannot call: these wrappers can be.

/// A deflate stream that writes a gzip member (windowBits 15 + 16: gzip header and trailer).
static inline int tidemark_deflate_init_gzip(z_streamp stream, int level) {
    return deflateInit2(stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
}

/// A raw deflate stream (no header or trailer), for chunks that are later joined into one member.
static inline int tidemark_deflate_init_raw(z_streamp stream, int level) {
    return deflateInit2(stream, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
}

/// An inflate stream that reads gzip only (windowBits 15 + 16).
static inline int tidemark_inflate_init_gzip(z_streamp stream) {
    return inflateInit2(stream, 15 + 16);
}

#endif
