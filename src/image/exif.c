/*
 * exif.c - the EXIF orientation of a JPEG, read with libexif.
 */
#include <libexif/exif-data.h>
#include <limits.h>

#include "image/codec.h"

int fgi_exif_orientation(const uint8_t *exif, size_t size)
{
    if (!exif || size == 0 || size > UINT_MAX) return 1;
    ExifData *ed = exif_data_new();
    if (!ed) return FG_ENOMEM;
    /* "Following the specification" makes libexif add and rewrite entries: we only read. */
    exif_data_unset_option(ed, EXIF_DATA_OPTION_FOLLOW_SPECIFICATION);
    exif_data_load_data(ed, exif, (unsigned int)size);

    int orientation = 1;
    ExifEntry *e = exif_content_get_entry(ed->ifd[EXIF_IFD_0], EXIF_TAG_ORIENTATION);
    if (e && e->data && e->format == EXIF_FORMAT_SHORT && e->components >= 1 && e->size >= 2) {
        ExifShort v = exif_get_short(e->data, exif_data_get_byte_order(ed));
        if (v >= 1 && v <= 8) orientation = v;
    }
    exif_data_unref(ed);
    return orientation;
}
