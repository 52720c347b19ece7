/*
 * distance.c - the distances between descriptors: the reference's Euclidean one and the match
 * distance facegate decides with (between the descriptors scaled to unit length).
 */
#include <math.h>

#include "facegate.h"

float fg_distance(const float a[FG_DESCRIPTOR_DIM], const float b[FG_DESCRIPTOR_DIM])
{
    double s = 0;
    for (int i = 0; i < FG_DESCRIPTOR_DIM; i++) {
        double d = (double)a[i] - b[i];
        s += d * d;
    }
    return (float)sqrt(s);
}

float fg_match_distance(const float a[FG_DESCRIPTOR_DIM], const float b[FG_DESCRIPTOR_DIM])
{
    double na = 0, nb = 0, s = 0;
    for (int i = 0; i < FG_DESCRIPTOR_DIM; i++) {
        na += (double)a[i] * a[i];
        nb += (double)b[i] * b[i];
    }
    if (!(na > 0) || !(nb > 0)) return 2.0f; /* a zero descriptor (an empty crop) matches nothing */
    na = 1 / sqrt(na), nb = 1 / sqrt(nb);
    for (int i = 0; i < FG_DESCRIPTOR_DIM; i++) {
        double d = a[i] * na - b[i] * nb;
        s += d * d;
    }
    return (float)sqrt(s);
}
