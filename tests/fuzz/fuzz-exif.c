/*
 * fuzz-exif.c - the JPEG marker walk (fgi_jpeg_scan_layout) and EXIF orientation parsing
 * (fgi_exif_orientation, libexif) on any bytes, taken both as a whole JPEG and as an APP1
 * payload. The orientation is always 1..8 (or FG_ENOMEM); an EXIF block found lies inside the
 * input. Seeds: JPEGs with each orientation tag in both byte orders, and their APP1 payloads.
 */
#include "fuzz.h"
#include "image-fixtures.h"
#include "image/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fgi_jpeg_layout layout;
    int o;
    fgi_jpeg_scan_layout(data, size, &layout);
    FG_FUZZ_CHECK(layout.scans >= 0);
    if (layout.exif)
        FG_FUZZ_CHECK(layout.exif >= data && layout.exif + layout.exif_size <= data + size);
    o = fgi_exif_orientation(layout.exif, layout.exif_size);
    FG_FUZZ_CHECK(o == FG_ENOMEM || (o >= 1 && o <= 8));
    o = fgi_exif_orientation(data, size);
    FG_FUZZ_CHECK(o == FG_ENOMEM || (o >= 1 && o <= 8));
    return 0;
}

void fg_fuzz_seeds(void)
{
    uint8_t *rgb = fx_pattern(16, 16);
    size_t size = 0;
    uint8_t *jpeg = rgb ? fx_jpeg_rgb(rgb, 16, 16, &size) : NULL;
    for (int big = 0; jpeg && big < 2; big++) {
        for (int orientation = 1; orientation <= 8; orientation += 3) {
            size_t tagged_size = 0;
            uint8_t *tagged = fx_jpeg_with_orientation(jpeg, size, orientation, big, &tagged_size);
            fgi_jpeg_layout layout;
            char name[32];
            if (!tagged) continue;
            snprintf(name, sizeof name, "o%d-%s.jpg", orientation, big ? "be" : "le");
            fg_fuzz_seed(name, tagged, tagged_size);
            fgi_jpeg_scan_layout(tagged, tagged_size, &layout);
            snprintf(name, sizeof name, "o%d-%s.app1", orientation, big ? "be" : "le");
            fg_fuzz_seed(name, layout.exif, layout.exif_size);
            free(tagged);
        }
    }
    free(jpeg);
    free(rgb);
}
