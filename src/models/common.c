/* common.c - what the four networks share. */
#include "models/models.h"

void fgm_normalize(float *hwc, size_t pixels, const float mean[3], int div255)
{
    /* Each tfjs op rounds to float32: (x - mean) is one op, / 255 another. */
    for (size_t i = 0; i < pixels; i++) {
        for (int c = 0; c < 3; c++) {
            float v = hwc[3 * i + c] - mean[c];
            hwc[3 * i + c] = div255 ? v / 255.0f : v;
        }
    }
}
