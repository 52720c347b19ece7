/*
 * jpeg_layout.c - walk a JPEG's marker segments without decoding: find the EXIF APP1 payload
 * and count the scans. TurboJPEG ignores APP1, and in 2.1 has no scan limit of its own.
 */
#include <string.h>

#include "image/codec.h"

/* Markers without a length field: TEM, RST0..RST7 (SOI/EOI are handled by the walk). */
static int is_standalone(uint8_t marker)
{
    return marker == 0x01 || (marker >= 0xd0 && marker <= 0xd7);
}

/* Index of the next marker after entropy-coded data starting at pos (FF 00 is a stuffed byte,
 * FF D0..D7 a restart marker inside the data), or size if there is none. */
static size_t skip_entropy_data(const uint8_t *b, size_t size, size_t pos)
{
    while (pos + 1 < size) {
        const uint8_t *ff = memchr(b + pos, 0xff, size - pos - 1);
        if (!ff) return size;
        pos = (size_t)(ff - b);
        uint8_t next = b[pos + 1];
        if (next != 0x00 && next != 0xff && !(next >= 0xd0 && next <= 0xd7)) return pos;
        pos++;
    }
    return size;
}

void fgi_jpeg_scan_layout(const uint8_t *b, size_t size, fgi_jpeg_layout *layout)
{
    memset(layout, 0, sizeof *layout);
    size_t pos = 2; /* after SOI */
    while (pos < size) {
        if (b[pos] != 0xff) return; /* not at a marker: leave the complaint to libjpeg */
        while (pos < size && b[pos] == 0xff)
            pos++; /* fill bytes */
        if (pos >= size) return;
        uint8_t marker = b[pos++];
        if (marker == 0xd9) return; /* EOI */
        if (is_standalone(marker)) continue;
        if (size - pos < 2) return;
        size_t len = (size_t)b[pos] << 8 | b[pos + 1];
        if (len < 2 || len > size - pos) return;
        const uint8_t *payload = b + pos + 2;
        size_t payload_size = len - 2;
        pos += len;
        if (marker == 0xe1 && !layout->exif && layout->scans == 0 && payload_size >= 6 &&
            memcmp(payload, "Exif\0\0", 6) == 0) {
            layout->exif = payload;
            layout->exif_size = payload_size;
        } else if (marker == 0xda) {
            layout->scans++;
            pos = skip_entropy_data(b, size, pos);
        }
    }
}
