/*
 * face-free.h - a set of images without faces, built at run time (never stored): crops of
 * photos from ../shared away from every face in them, and synthetic textures. Used by the fast
 * path's false-detection test; included by one test file (static functions).
 *
 * Two sets: the dev set, on which the fast path's thresholds were chosen (portraits, the golden
 * photo, the spoof samples, the first web photo of each celebrity of asia_dev/asian_celeb_web,
 * textures), and a held-out set made the same way from other photos (face-api's 6 group demo
 * photos, the second web photo of each celebrity, textures of other seeds).
 * Photo crops: in each photo, the faces are found by both detectors at low thresholds (SSD at
 * 0.3 with the padded retries, the fast path at detection 0.1 and face flag 0.1) and every box
 * is grown to twice its size about its centre; a crop is kept when it meets none of them. The
 * crops are squares of 45% and 30% and landscapes of 60% x 40% of the photo's shorter side, on
 * a 5 x 5 grid of positions, at most 10 per photo, none overlapping another by more than half. The
 * set was looked at (contact sheets) when it was made: no face, no face-like print. Textures: value
 * noise at four scales, stripes, a checkerboard, a gradient, scattered discs and rectangles, in
 * grey and in colour (deterministic seeds).
 */
#ifndef FG_TEST_FACE_FREE_H
#define FG_TEST_FACE_FREE_H

#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "facegate.h"
#include "harness.h"

#define FACE_FREE_MAX 400

typedef struct face_free_set {
    fg_image images[FACE_FREE_MAX];
    char names[FACE_FREE_MAX][96];
    int n;
} face_free_set;

/* Photos the dev set's crops come from (under ../shared). */
static const char *const face_free_photos[] = {
    "golden/single640.jpg",
    "faces/portraits/alex_lacamoire/alex-lacamoire.png",
    "faces/portraits/alex_lacamoire/alex_lacamoire1.jpg",
    "faces/portraits/alex_lacamoire/img1.jpg",
    "faces/portraits/biden/biden.jpg",
    "faces/portraits/biden/biden2.jpg",
    "faces/portraits/kit_harington/john1.jpeg",
    "faces/portraits/kit_harington/john2.jpeg",
    "faces/portraits/kit_harington/johnsnow_test1.jpg",
    "faces/portraits/lin_manuel_miranda/lin-manuel-miranda.png",
    "faces/portraits/obama/obama.jpg",
    "faces/portraits/obama/obama1.jpg",
    "faces/portraits/obama/obama2.jpg",
    "faces/portraits/obama/obama3.jpg",
    "faces/portraits/rose_leslie/img1.jpg",
    "faces/portraits/rose_leslie/img2.jpg",
    "faces/spoof_samples/live/image_T1.jpg",
    "faces/spoof_samples/spoof/image_F1.jpg",
    "faces/spoof_samples/spoof/image_F2.jpg",
};

static uint32_t ff_hash(uint32_t x)
{
    x ^= x >> 16, x *= 0x7feb352d, x ^= x >> 15, x *= 0x846ca68b, x ^= x >> 16;
    return x;
}

static int ff_add(face_free_set *s, fg_image img, const char *name)
{
    if (s->n >= FACE_FREE_MAX) {
        fg_image_free(&img);
        return 0;
    }
    s->images[s->n] = img;
    snprintf(s->names[s->n], sizeof s->names[0], "%s", name);
    s->n++;
    return 1;
}

/* The union of both detectors' faces in img, each box grown to twice its size. */
static size_t ff_faces(fg_engine *ssd, fg_engine *fast, const fg_image *img, fg_box *boxes,
                       size_t max)
{
    size_t n = 0;
    fg_engine *engines[2] = {ssd, fast};
    for (int k = 0; k < 2; k++) {
        fg_face *faces = NULL;
        size_t count = 0;
        fg_error err = {0};
        CHECKF(fg_detect(engines[k], img, &faces, &count, &err) == FG_OK, "%s", err.message);
        for (size_t i = 0; i < count && n < max; i++) {
            fg_box b = faces[i].box;
            boxes[n].x = b.x - b.width / 2;
            boxes[n].y = b.y - b.height / 2;
            boxes[n].width = 2 * b.width;
            boxes[n].height = 2 * b.height;
            n++;
        }
        free(faces);
    }
    return n;
}

static int ff_meets(const fg_box *b, size_t n, double x, double y, double w, double h)
{
    for (size_t i = 0; i < n; i++)
        if (x < b[i].x + b[i].width && b[i].x < x + w && y < b[i].y + b[i].height && b[i].y < y + h)
            return 1;
    return 0;
}

static fg_image ff_crop(const fg_image *img, int x, int y, int w, int h)
{
    fg_image out = {w, h, malloc((size_t)w * h * 3)};
    for (int r = 0; r < h && out.rgb; r++)
        memcpy(out.rgb + (size_t)r * w * 3, img->rgb + ((size_t)(y + r) * img->width + x) * 3,
               (size_t)w * 3);
    return out;
}

/* Up to FF_PER_PHOTO face-free crops of one photo (a path under ../shared). */
#define FF_PER_PHOTO 10
static void ff_crops_of(face_free_set *s, fg_engine *ssd, fg_engine *fast, const char *path,
                        const char *rel);

static void ff_photo_crops(face_free_set *s, fg_engine *ssd, fg_engine *fast, const char *rel)
{
    char path[4096];
    snprintf(path, sizeof path, "%s", fg_test_shared(rel));
    ff_crops_of(s, ssd, fast, path, rel);
}

/* face-api's demo photo sample<i>.jpg (node_modules). */
static void ff_sample_crops(face_free_set *s, fg_engine *ssd, fg_engine *fast, int i)
{
    char rel[96], path[4096];
    snprintf(rel, sizeof rel, "node_modules/@vladmandic/face-api/demo/sample%d.jpg", i);
    snprintf(path, sizeof path, "%s", fg_test_source(rel));
    ff_crops_of(s, ssd, fast, path, rel);
}

static void ff_crops_of(face_free_set *s, fg_engine *ssd, fg_engine *fast, const char *path,
                        const char *rel)
{
    fg_image img = {0};
    fg_error err = {0};
    fg_box boxes[64];
    const double shapes[3][2] = {{0.45, 0.45}, {0.60, 0.40}, {0.30, 0.30}};
    int taken = 0;
    struct {
        int x, y;
    } kept[FF_PER_PHOTO];

    /* A few web photos are BMP or GIF data under a .jpg name: not an image facegate reads. */
    if (fg_image_load(path, 0, &img, &err) != FG_OK) return;
    size_t nb = ff_faces(ssd, fast, &img, boxes, 64);
    int side = img.width < img.height ? img.width : img.height;
    for (int sh = 0; sh < 3 && taken < FF_PER_PHOTO; sh++) {
        int w = (int)(shapes[sh][0] * side), h = (int)(shapes[sh][1] * side);
        for (int gy = 0; gy < 5 && taken < FF_PER_PHOTO; gy++)
            for (int gx = 0; gx < 5 && taken < FF_PER_PHOTO; gx++) {
                int x = (img.width - w) * gx / 4, y = (img.height - h) * gy / 4, far = 1;
                if (ff_meets(boxes, nb, x, y, w, h)) continue;
                for (int k = 0; k < taken; k++)
                    far &= abs(kept[k].x - x) >= w / 2 || abs(kept[k].y - y) >= h / 2;
                if (!far) continue;
                char name[96];
                snprintf(name, sizeof name, "%s@%d,%d,%dx%d", strrchr(rel, '/') + 1, x, y, w, h);
                kept[taken].x = x, kept[taken].y = y;
                taken += ff_add(s, ff_crop(&img, x, y, w, h), name);
            }
    }
    fg_image_free(&img);
}

/* The alphabetically k-th (0, 1, ...) file name in dir (a static buffer), or NULL. */
static const char *ff_nth_file(const char *dir, int k)
{
    static char names[64][256], out[256];
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    if (!d) return NULL;
    while ((e = readdir(d)) && n < 64)
        if (e->d_name[0] != '.') snprintf(names[n++], sizeof names[0], "%s", e->d_name);
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0], (int (*)(const void *, const void *))strcmp);
    if (k >= n) return NULL;
    snprintf(out, sizeof out, "%s", names[k]);
    return out;
}

/* Value noise: a coarse random grid, smoothly interpolated. */
static double ff_noise(int x, int y, int cell, uint32_t seed)
{
    int gx = x / cell, gy = y / cell;
    double fx = (double)(x % cell) / cell, fy = (double)(y % cell) / cell;
    fx = fx * fx * (3 - 2 * fx), fy = fy * fy * (3 - 2 * fy);
#define FF_V(i, j)                                                                                 \
    (ff_hash(seed ^                                                                                \
             ff_hash((uint32_t)(gx + (i)) * 73856093u ^ (uint32_t)(gy + (j)) * 19349663u)) /       \
     4294967295.0)
    double top = FF_V(0, 0) + (FF_V(1, 0) - FF_V(0, 0)) * fx;
    double bot = FF_V(0, 1) + (FF_V(1, 1) - FF_V(0, 1)) * fx;
#undef FF_V
    return top + (bot - top) * fy;
}

static void ff_textures(face_free_set *s, uint32_t seed_base)
{
    static const char *const kinds[] = {"noise4",  "noise16",  "noise48", "noise128", "stripes",
                                        "checker", "gradient", "discs",   "rects"};
    for (int k = 0; k < 9; k++)
        for (int colour = 0; colour < 2; colour++) {
            int w = colour ? 640 : 480, h = colour ? 480 : 360;
            fg_image img = {w, h, malloc((size_t)w * h * 3)};
            uint32_t seed = seed_base + (uint32_t)(k * 2 + colour + 1);
            if (!img.rgb) return;
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    for (int c = 0; c < 3; c++) {
                        uint32_t cs = colour ? seed * 31 + (uint32_t)c : seed;
                        double v;
                        if (k < 4) {
                            static const int cells[4] = {4, 16, 48, 128};
                            v = ff_noise(x, y, cells[k], cs);
                        } else if (k == 4) {
                            v = 0.5 + 0.5 * sin((x * 0.8 + y * 0.3) * 0.15 + c);
                        } else if (k == 5) {
                            v = ((x / 40 + y / 40) % 2) ? 0.85 : 0.15;
                        } else if (k == 6) {
                            v = (double)(x + (colour ? c * 100 : 0)) / (w + 200);
                        } else {
                            /* 40 discs or rectangles of random place, size and shade. */
                            v = 0.5;
                            for (uint32_t i = 0; i < 40; i++) {
                                uint32_t r = ff_hash(cs * 1000 + i);
                                int cx = (int)(r % (uint32_t)w),
                                    cy = (int)((r >> 10) % (uint32_t)h);
                                int rad = 10 + (int)((r >> 20) % 60);
                                int in = k == 7
                                             ? (x - cx) * (x - cx) + (y - cy) * (y - cy) < rad * rad
                                             : abs(x - cx) < rad && abs(y - cy) < rad / 2;
                                if (in) v = (ff_hash(r) % 256) / 255.0;
                            }
                        }
                        img.rgb[((size_t)y * w + x) * 3 + c] =
                            (uint8_t)lround(255 * fmin(1, fmax(0, v)));
                    }
            char name[64];
            snprintf(name, sizeof name, "texture-%s-%s-%u", kinds[k], colour ? "colour" : "grey",
                     (unsigned)seed);
            ff_add(s, img, name);
        }
}

/* Builds the dev set (held_out 0: the thresholds were chosen on it) or the held-out set
 * (held_out 1: other photos, other texture seeds). The engines find the faces to keep away
 * from. */
static void face_free_build(face_free_set *s, fg_engine *ssd, fg_engine *fast, int held_out)
{
    char rel[512];
    s->n = 0;
    if (!held_out) {
        for (size_t i = 0; i < sizeof face_free_photos / sizeof face_free_photos[0]; i++)
            ff_photo_crops(s, ssd, fast, face_free_photos[i]);
    } else {
        /* The 6 golden group photos ship in node_modules (face-api's demo folder). */
        for (int i = 1; i <= 6; i++) {
            ff_sample_crops(s, ssd, fast, i);
        }
    }
    /* One web photo of each of the 29 celebrities of asia_dev (zh_101 .. zh_129): the first
     * (dev) or the second (held-out) of their folder. */
    for (int id = 101; id <= 129; id++) {
        char dir[96];
        snprintf(dir, sizeof dir, "faces/asia_dev/asian_celeb_web/zh_%d", id);
        const char *name = ff_nth_file(fg_test_shared(dir), held_out);
        if (!name) continue;
        snprintf(rel, sizeof rel, "%s/%s", dir, name);
        ff_photo_crops(s, ssd, fast, rel);
    }
    ff_textures(s, held_out ? 100 : 0);
}

static void face_free_free(face_free_set *s)
{
    for (int i = 0; i < s->n; i++)
        fg_image_free(&s->images[i]);
    s->n = 0;
}

#endif
