/*
 * bench_engine.c - facegate's side of `make bench`: times every stage of the pipeline on
 * real images and writes JSON in the "facegate-bench/1" shape that bench/compare.mjs reads
 * (the reference implementation's bench/reference.mjs writes the same shape).
 *
 *   bench_engine --images A.jpg,B.jpg [--runs N] [--threads T] [--models DIR]
 *                [--fast-models DIR] [--json FILE]
 *
 * Stages (per image, timed in rounds, each after a warm-up run: see ROUNDS): decode
 * (fg_engine_decode_image: on the engine's threads, as the pipelines with decoding), ssd_detect,
 * tiny_detect, landmarks (crop + net, first face), descriptor (default dlib alignment, first face),
 * descriptor_tta (the same with test-time augmentation: the face and its mirror image),
 * descriptors (every SSD face's, in one fg_describe_faces call, as the pipelines describe),
 * pipeline_ssd (detect + landmarks + descriptors of every face), pipeline_ssd_with_decode,
 * pipeline_tiny, and the fast path's: blaze_detect (resize, BlazeFace, decoding, NMS), mesh (the
 * first face's 192x192 crop + FaceMesh), iris (its two eye crops + the iris net), fast_frame
 * (BlazeFace + FaceMesh + iris for every face of the image, one pass: what a video frame costs),
 * track_frame (the next frame of a face already found: FaceMesh + iris only), pipeline_fast
 * (decode + BlazeFace + FaceMesh + descriptor of every face: fg_detect, which needs no iris net,
 * then fg_describe_faces).
 *
 * It also reports each network's multiply-adds per run and this core's measured peak rate of
 * fused multiply-adds, so the table shows how close each stage runs to what the core can do,
 * and, from separately built runtimes with XNNPACK's per-operator timing, how each network's
 * time splits between 1x1 convolutions, other convolutions, depthwise convolutions, fully
 * connected layers and the rest.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "core/cpu.h"
#include "face/mesh.h"
#include "facegate.h"
#include "image/image.h"
#include "models/models.h"

#define MAX_RUNS 1000

typedef struct bench {
    const char *model_dir, *fast_model_dir;
    int runs, threads;
    fg_engine *ssd_engine, *tiny_engine, *tta_engine;
    fg_engine *fast_engine;  /* --detector blaze, default options */
    fg_engine *frame_engine; /* the fast path, one pass (no padded retry), as Human's detect() */
    fgm_ssd *ssd;
    fgm_tiny *tiny;
    fgm_landmarks *landmarks;
    fgm_blaze *blaze;
    fgf_mesher *mesher;
} bench;

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static json_t *summary(double *t, int n)
{
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    double median = n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
    int p90 = (int)(0.9 * (n - 1) + 0.5);
    return json_pack("{s:f, s:f, s:f, s:i}", "median_ms", median, "p90_ms", t[p90], "min_ms", t[0],
                     "runs", n);
}

#if defined(__x86_64__)
/* Single-thread float32 multiply-adds per second (in billions) of 10 independent chains of AVX2
 * FMAs: what one core can do at best, the ceiling of any convolution on it. 0 without FMA. */
__attribute__((target("avx2,fma"))) static double fma_chains(long n)
{
    __m256 b = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    __m256 a0 = b, a1 = b, a2 = b, a3 = b, a4 = b, a5 = b, a6 = b, a7 = b, a8 = b, a9 = b;
    double t0 = now_ms();
    for (long k = 0; k < n; k++) {
#define FMA(x) x = _mm256_fmadd_ps(x, b, c);
        FMA(a0)
        FMA(a1)
        FMA(a2)
        FMA(a3)
        FMA(a4)
        FMA(a5)
        FMA(a6)
        FMA(a7)
        FMA(a8)
        FMA(a9)
#undef FMA
        __asm__ volatile(""
                         : "+x"(a0), "+x"(a1), "+x"(a2), "+x"(a3), "+x"(a4), "+x"(a5), "+x"(a6),
                           "+x"(a7), "+x"(a8), "+x"(a9));
    }
    double ms = now_ms() - t0;
    volatile float sink = _mm256_cvtss_f32(_mm256_add_ps(a0, a9));
    (void)sink;
    return n * 10.0 * 8 / (ms * 1e6);
}

/* fma_chains with 16-float FMAs (AVX-512), which facegate's own kernels use where the CPU has
 * them (fg_cpu_avx512); 12 chains, for two 512-bit FMA units' latency. */
__attribute__((target("avx512f"))) static double fma_chains512(long n)
{
    const __m512 b = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
    __m512 a[12];
    for (int i = 0; i < 12; i++)
        a[i] = b;
    double t0 = now_ms();
    for (long k = 0; k < n; k++) {
#pragma GCC unroll 12
        for (int i = 0; i < 12; i++)
            a[i] = _mm512_fmadd_ps(a[i], b, c);
    }
    double ms = now_ms() - t0;
    for (int i = 1; i < 12; i++)
        a[0] = _mm512_add_ps(a[0], a[i]);
    volatile float sink = _mm512_reduce_add_ps(a[0]);
    (void)sink;
    return n * 12.0 * 16 / (ms * 1e6);
}

static double fma_peak_gmacs(int avx512)
{
    double best = 0;
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) return 0;
    if (avx512 && !fg_cpu_avx512()) return 0;
    for (int i = 0; i < 5; i++) {
        double r = avx512 ? fma_chains512(16000000) : fma_chains(20000000);
        if (r > best) best = r;
    }
    return best;
}
#else
static double fma_peak_gmacs(int avx512)
{
    (void)avx512;
    return 0;
}
#endif

static void die(const char *what, const fg_error *err)
{
    fprintf(stderr, "bench_engine: %s: %s\n", what, err->message);
    exit(1);
}

/* Each stage is a function of the image under test, run 2 + runs times. */
typedef struct ctx {
    bench *b;
    const unsigned char *bytes;
    size_t size;
    const fg_image *img;
    const fg_face *face;  /* first SSD face, or NULL */
    const fg_face *faces; /* all of them */
    size_t nfaces;
    double square[4]; /* the first BlazeFace face's square */
    int has_square;
    float face_crop[FGM_MESH_INPUT * FGM_MESH_INPUT * 3]; /* its FaceMesh input */
    float raw_mesh[FGM_MESH_POINTS * 3];                  /* and FaceMesh's points */
    fg_face_mesh tracked;                                 /* its mesh, to track from */
} ctx;

typedef void (*stage_fn)(ctx *c);

static void stage_decode(ctx *c)
{
    fg_image img;
    fg_error err;
    if (fg_engine_decode_image(c->b->ssd_engine, c->bytes, c->size, &img, &err))
        die("decode", &err);
    fg_image_free(&img);
}

static void stage_ssd(ctx *c)
{
    fgm_detection *d;
    size_t n;
    fg_error err;
    if (fgm_ssd_detect(c->b->ssd, c->img, 0.5f, &d, &n, &err)) die("ssd", &err);
    free(d);
}

static void stage_tiny(ctx *c)
{
    fgm_detection *d;
    size_t n;
    fg_error err;
    if (fgm_tiny_detect(c->b->tiny, c->img, 0.5f, &d, &n, &err)) die("tiny", &err);
    free(d);
}

static void stage_landmarks(ctx *c)
{
    fg_image crop;
    fg_point pts[FG_LANDMARKS];
    fg_error err;
    if (fgi_crop(c->img, c->face->landmark_crop, &crop, &err) ||
        fgm_landmarks_detect(c->b->landmarks, crop.rgb, crop.width, crop.height, pts, &err))
        die("landmarks", &err);
    fg_image_free(&crop);
}

static void stage_descriptor(ctx *c)
{
    float d[FG_DESCRIPTOR_DIM];
    fg_error err;
    if (fg_describe(c->b->ssd_engine, c->img, c->face, d, &err)) die("descriptor", &err);
}

static void stage_descriptors(ctx *c)
{
    float(*d)[FG_DESCRIPTOR_DIM] = malloc(c->nfaces * sizeof *d);
    fg_error err;
    if (!d) exit(1);
    if (fg_describe_faces(c->b->ssd_engine, c->img, c->faces, c->nfaces, d, &err))
        die("descriptors", &err);
    free(d);
}

static void stage_descriptor_tta(ctx *c)
{
    float d[FG_DESCRIPTOR_DIM];
    fg_error err;
    if (fg_describe(c->b->tta_engine, c->img, c->face, d, &err)) die("descriptor_tta", &err);
}

static void pipeline(fg_engine *e, const fg_image *img)
{
    fg_face *faces;
    size_t n;
    fg_error err;
    float(*d)[FG_DESCRIPTOR_DIM];
    if (fg_detect(e, img, &faces, &n, &err)) die("pipeline", &err);
    if (!(d = malloc((n ? n : 1) * sizeof *d))) exit(1);
    if (fg_describe_faces(e, img, faces, n, d, &err)) die("pipeline", &err);
    free(d);
    free(faces);
}

static void stage_pipeline_ssd(ctx *c)
{
    pipeline(c->b->ssd_engine, c->img);
}

static void stage_pipeline_ssd_decode(ctx *c)
{
    fg_image img;
    fg_error err;
    if (fg_engine_decode_image(c->b->ssd_engine, c->bytes, c->size, &img, &err))
        die("decode", &err);
    pipeline(c->b->ssd_engine, &img);
    fg_image_free(&img);
}

static void stage_pipeline_tiny(ctx *c)
{
    pipeline(c->b->tiny_engine, c->img);
}

static void stage_blaze(ctx *c)
{
    fgm_blaze_box *boxes;
    size_t n;
    fg_error err;
    if (fgm_blaze_detect(c->b->blaze, c->img, 0.5f, 0.1f, 32, &boxes, &n, &err)) die("blaze", &err);
    free(boxes);
}

static void stage_mesh(ctx *c)
{
    fgm_mesh *m = fgf_mesher_mesh(c->b->mesher);
    const float *pts;
    float flag;
    fg_error err = {0, ""};
    if (fgf_face_crop(c->img, c->square, fgm_mesh_input(m)) ||
        fgm_mesh_forward(m, &pts, &flag, &err))
        die("mesh", &err);
}

static void stage_iris(ctx *c)
{
    fgm_iris *m = fgf_mesher_iris(c->b->mesher);
    const float *pts;
    double eyes[2][4];
    fg_error err = {0, ""};
    if (fgf_eye_crops(c->face_crop, c->raw_mesh, 0, fgm_iris_input(m), eyes) ||
        fgm_iris_forward(m, &pts, &err))
        die("iris", &err);
}

static void stage_fast_frame(ctx *c)
{
    fg_face *faces;
    fg_face_mesh *meshes;
    size_t n;
    fg_error err;
    if (fg_detect_mesh(c->b->frame_engine, c->img, &faces, &meshes, &n, &err))
        die("fast_frame", &err);
    free(faces);
    free(meshes);
}

static void stage_track_frame(ctx *c)
{
    fg_face_mesh m = c->tracked;
    fg_error err;
    if (fg_track_mesh(c->b->frame_engine, c->img, &m, NULL, &err)) die("track_frame", &err);
}

static void stage_pipeline_fast(ctx *c)
{
    fg_image img;
    fg_error err;
    if (fg_engine_decode_image(c->b->fast_engine, c->bytes, c->size, &img, &err))
        die("decode", &err);
    pipeline(c->b->fast_engine, &img);
    fg_image_free(&img);
}

/* The first BlazeFace face's square, FaceMesh input, points and mesh, for the stages that time
 * one face's steps. 0 when BlazeFace finds no face. */
static int first_fast_face(ctx *c)
{
    fgm_blaze_box *boxes;
    fg_face *faces;
    fg_face_mesh *meshes;
    const float *pts;
    float flag;
    size_t n, nf;
    fg_error err;
    fgm_mesh *m = fgf_mesher_mesh(c->b->mesher);
    if (fgm_blaze_detect(c->b->blaze, c->img, 0.5f, 0.1f, 32, &boxes, &n, &err)) die("blaze", &err);
    if (n) {
        fgf_blaze_square(&boxes[0], c->square);
        if (fgf_face_crop(c->img, c->square, fgm_mesh_input(m)) ||
            fgm_mesh_forward(m, &pts, &flag, &err))
            die("mesh", &err);
        memcpy(c->face_crop, fgm_mesh_input(m), sizeof c->face_crop);
        memcpy(c->raw_mesh, pts, sizeof c->raw_mesh);
    }
    if (fg_detect_mesh(c->b->frame_engine, c->img, &faces, &meshes, &nf, &err))
        die("fast_frame", &err);
    if (nf) c->tracked = meshes[0];
    free(faces);
    free(meshes);
    free(boxes);
    return (c->has_square = n > 0 && nf > 0);
}

/* The stages are timed in ROUNDS rounds, each stage's runs split among them, after a warm-up run
 * of the stage in each round (two in the first), so that its data is back in the caches. A slow
 * phase of a shared host lasting seconds then falls on every stage's runs alike rather than on
 * one stage's, and the ratios between stages of one run (the fast pipeline against the SSD
 * pipeline) hold. */
#define ROUNDS 5

static json_t *bench_image(bench *b, const char *path)
{
    static const struct {
        const char *name;
        stage_fn fn;
        int needs_face;
    } stages[] = {
        {"decode", stage_decode, 0},
        {"ssd_detect", stage_ssd, 0},
        {"tiny_detect", stage_tiny, 0},
        {"landmarks", stage_landmarks, 1},
        {"descriptor", stage_descriptor, 1},
        {"descriptor_tta", stage_descriptor_tta, 1},
        {"descriptors", stage_descriptors, 1},
        {"pipeline_ssd", stage_pipeline_ssd, 0},
        {"pipeline_ssd_with_decode", stage_pipeline_ssd_decode, 0},
        {"pipeline_tiny", stage_pipeline_tiny, 0},
        {"blaze_detect", stage_blaze, 0},
        {"mesh", stage_mesh, 2},
        {"iris", stage_iris, 2},
        {"fast_frame", stage_fast_frame, 0},
        {"track_frame", stage_track_frame, 2},
        {"pipeline_fast", stage_pipeline_fast, 0},
    };
    fg_image img;
    fg_face *faces;
    size_t n, size;
    fg_error err;
    FILE *f = fopen(path, "rb");
    unsigned char *bytes;
    long len;

    if (!f || fseek(f, 0, SEEK_END) || (len = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET)) {
        fprintf(stderr, "bench_engine: cannot read %s\n", path);
        exit(1);
    }
    size = (size_t)len;
    bytes = malloc(size);
    if (!bytes || fread(bytes, 1, size, f) != size) exit(1);
    fclose(f);
    if (fg_image_decode(bytes, size, 0, &img, &err)) die(path, &err);
    if (fg_detect(b->ssd_engine, &img, &faces, &n, &err)) die(path, &err);

    static ctx c; /* large: the crop and the mesh */
    memset(&c, 0, sizeof c);
    c.b = b, c.bytes = bytes, c.size = size, c.img = &img, c.face = n ? &faces[0] : NULL;
    c.faces = faces, c.nfaces = n;
    first_fast_face(&c);
    const char *base = strrchr(path, '/');
    const size_t nstages = sizeof stages / sizeof stages[0];
    static double t[sizeof stages / sizeof stages[0]][MAX_RUNS];
    int done[sizeof stages / sizeof stages[0]] = {0};
    for (int r = 0; r < ROUNDS; r++) {
        fprintf(stderr, "  %s: round %d of %d ...\n", base ? base + 1 : path, r + 1, ROUNDS);
        for (size_t i = 0; i < nstages; i++) {
            /* needs_face: 1 an SSD face, 2 a fast path face */
            if ((stages[i].needs_face == 1 && !c.face) ||
                (stages[i].needs_face == 2 && !c.has_square))
                continue;
            const int upto = b->runs * (r + 1) / ROUNDS;
            if (done[i] == upto) continue;
            for (int w = 0; w < (r ? 1 : 2); w++)
                stages[i].fn(&c);
            for (; done[i] < upto; done[i]++) {
                double t0 = now_ms();
                stages[i].fn(&c);
                t[i][done[i]] = now_ms() - t0;
            }
        }
    }
    json_t *st = json_object();
    for (size_t i = 0; i < nstages; i++)
        json_object_set_new(st, stages[i].name, done[i] ? summary(t[i], done[i]) : json_null());
    json_t *out =
        json_pack("{s:s, s:s, s:i, s:i, s:i, s:o}", "name", base ? base + 1 : path, "file", path,
                  "width", img.width, "height", img.height, "faces", (int)n, "stages", st);
    free(faces);
    fg_image_free(&img);
    free(bytes);
    return out;
}

/* One network's multiply-adds and where its time went, by kind of operator. */
static json_t *profile_json(const nn_profile *profile)
{
    nn_profile p = *profile;
    uint64_t macs = 0;
    json_t *kinds = json_object();
    for (int k = 0; k < NN_OP_KINDS; k++) {
        if (!p.macs[k] && !p.ms[k]) continue;
        json_object_set_new(kinds, nn_op_kind_name((nn_op_kind)k),
                            json_pack("{s:I, s:f}", "macs", (json_int_t)p.macs[k], "ms",
                                      p.runs ? p.ms[k] / (double)p.runs : 0.0));
    }
    for (int k = 0; k < NN_OP_KINDS; k++)
        macs += p.macs[k];
    return json_pack("{s:I, s:i, s:o}", "macs", (json_int_t)macs, "profiled_runs", (int)p.runs,
                     "operators", kinds);
}

static json_t *network_json(const nn_runtime *rt)
{
    nn_profile p;
    nn_runtime_profile(rt, &p);
    return profile_json(&p);
}

static json_t *resnet_json(const fgm_resnet *m)
{
    nn_profile p;
    fgm_resnet_profile(m, &p);
    return profile_json(&p);
}

/* The fast path's three networks, built with profiling, run on img's first face. */
static void profile_fast_networks(bench *b, const fg_image *img, json_t *out)
{
    fgm_blaze *blaze;
    fgf_mesher *mesher;
    fgm_blaze_box *boxes = NULL;
    fg_face_mesh mesh;
    size_t n = 0;
    double square[4];
    fg_error err;

    nn_set_profiling(1);
    if (fgm_blaze_open(b->fast_model_dir, b->threads, &blaze, &err) ||
        fgf_mesher_open(b->fast_model_dir, b->threads, &mesher, &err))
        die("fast path models", &err);
    nn_set_profiling(0);
    for (int i = 0; i < b->runs; i++) {
        free(boxes);
        if (fgm_blaze_detect(blaze, img, 0.5f, 0.1f, 32, &boxes, &n, &err)) die("blaze", &err);
        if (!n) die("blaze", &(fg_error){FG_ENOFACE, "no face to profile FaceMesh and iris on"});
        fgf_blaze_square(&boxes[0], square);
        if (fgf_mesh_square(mesher, img, square, 1, &mesh, NULL, &err)) die("mesh", &err);
    }
    nn_profile blaze_profile;
    fgm_blaze_profile(blaze, &blaze_profile);
    json_object_set_new(out, "blaze_detect", profile_json(&blaze_profile));
    nn_profile mesh_profile, iris_profile;
    fgm_mesh_profile(fgf_mesher_mesh(mesher), &mesh_profile);
    fgm_iris_profile(fgf_mesher_iris(mesher), &iris_profile);
    json_object_set_new(out, "mesh", profile_json(&mesh_profile));
    json_object_set_new(out, "iris", profile_json(&iris_profile));
    free(boxes);
    fgm_blaze_free(blaze);
    fgf_mesher_free(mesher);
}

/* After the timed stages (which run without it): the four networks built again with XNNPACK's
 * per-operator timing, run `runs` times on the image, their time summed by kind of operator. */
static json_t *profile_networks(bench *b, const char *path)
{
    fgm_ssd *ssd;
    fgm_tiny *tiny;
    fgm_landmarks *lm;
    fgm_resnet *resnet;
    fgm_detection *d;
    fg_image img, crop;
    fg_face *faces;
    fg_point pts[FG_LANDMARKS];
    float desc[FG_DESCRIPTOR_DIM];
    size_t n;
    fg_error err;

    nn_set_profiling(1);
    if (fgm_ssd_open(b->model_dir, b->threads, &ssd, &err) ||
        fgm_tiny_open(b->model_dir, b->threads, &tiny, &err) ||
        fgm_landmarks_open(b->model_dir, b->threads, &lm, &err) ||
        fgm_resnet_open(b->model_dir, b->threads, 1, &resnet, &err))
        die("models", &err);
    nn_set_profiling(0);
    if (fg_image_load(path, 0, &img, &err) || fg_detect(b->ssd_engine, &img, &faces, &n, &err))
        die(path, &err);
    if (!n)
        die(path, &(fg_error){FG_ENOFACE, "no face to profile the landmark and descriptor nets"});
    if (fgi_crop(&img, faces[0].landmark_crop, &crop, &err)) die(path, &err);
    fprintf(stderr, "  profiling the networks on %s ...\n", path);
    for (int i = 0; i < b->runs; i++) {
        if (fgm_ssd_detect(ssd, &img, 0.5f, &d, &n, &err)) die("ssd", &err);
        free(d);
        if (fgm_tiny_detect(tiny, &img, 0.5f, &d, &n, &err)) die("tiny", &err);
        free(d);
        if (fgm_landmarks_detect(lm, crop.rgb, crop.width, crop.height, pts, &err))
            die("landmarks", &err);
        if (fgm_resnet_describe_crop(resnet, crop.rgb, crop.width, crop.height, desc, &err))
            die("descriptor", &err);
    }
    json_t *out =
        json_pack("{s:o, s:o, s:o, s:o}", "ssd_detect", network_json(fgm_ssd_runtime(ssd)),
                  "tiny_detect", network_json(fgm_tiny_runtime(tiny)), "landmarks",
                  network_json(fgm_landmarks_runtime(lm)), "descriptor", resnet_json(resnet));
    profile_fast_networks(b, &img, out);
    fg_image_free(&crop);
    fg_image_free(&img);
    free(faces);
    fgm_ssd_free(ssd);
    fgm_tiny_free(tiny);
    fgm_landmarks_free(lm);
    fgm_resnet_free(resnet);
    return out;
}

/* The first path of a comma-separated list (static copy). */
static const char *first_image(const char *list)
{
    static char path[4096];
    size_t len = strcspn(list, ",");
    if (len >= sizeof path) len = sizeof path - 1;
    memcpy(path, list, len);
    path[len] = '\0';
    return path;
}

static fg_engine *open_engine(bench *b, fg_detector det, int tta, fg_padding padding)
{
    fg_engine_options o;
    fg_engine *e;
    fg_error err;
    fg_engine_options_init(&o);
    o.model_dir = b->model_dir;
    o.fast_model_dir = det == FG_DETECTOR_BLAZE ? b->fast_model_dir : NULL;
    o.detector = det;
    o.tta = tta;
    o.threads = b->threads;
    o.padding = padding;
    if (fg_engine_open(&o, &e, &err)) die("engine", &err);
    return e;
}

int main(int argc, char **argv)
{
    bench b = {0};
    b.model_dir = "node_modules/@vladmandic/face-api/model";
    b.fast_model_dir = "node_modules/@vladmandic/human/models";
    b.runs = 20;
    b.threads = 1;
    const char *images = NULL, *json_path = NULL;
    fg_error err;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v && strcmp(a, "--help") && strcmp(a, "-h")) {
            fprintf(stderr, "bench_engine: %s needs a value\n", a);
            return 2;
        }
        if (strcmp(a, "--images") == 0) {
            images = v, i++;
        } else if (strcmp(a, "--runs") == 0) {
            b.runs = atoi(v), i++;
        } else if (strcmp(a, "--threads") == 0) {
            b.threads = atoi(v), i++;
        } else if (strcmp(a, "--models") == 0) {
            b.model_dir = v, i++;
        } else if (strcmp(a, "--fast-models") == 0) {
            b.fast_model_dir = v, i++;
        } else if (strcmp(a, "--json") == 0) {
            json_path = v, i++;
        } else {
            fprintf(stderr, "usage: bench_engine --images A,B [--runs N] [--threads T] "
                            "[--models DIR] [--fast-models DIR] [--json FILE]\n");
            return strcmp(a, "--help") && strcmp(a, "-h") ? 2 : 0;
        }
    }
    if (!images || b.runs < 1 || b.runs > MAX_RUNS || b.threads < 0) {
        fprintf(stderr, "bench_engine: need --images, 1 <= --runs <= %d, --threads >= 0\n",
                MAX_RUNS);
        return 2;
    }
    b.ssd_engine = open_engine(&b, FG_DETECTOR_SSD, 0, FG_PADDING_RETRY);
    b.tiny_engine = open_engine(&b, FG_DETECTOR_TINY, 0, FG_PADDING_RETRY);
    b.tta_engine = open_engine(&b, FG_DETECTOR_SSD, 1, FG_PADDING_RETRY);
    b.fast_engine = open_engine(&b, FG_DETECTOR_BLAZE, 0, FG_PADDING_RETRY);
    b.frame_engine = open_engine(&b, FG_DETECTOR_BLAZE, 0, FG_PADDING_NONE);
    if (fgm_ssd_open(b.model_dir, b.threads, &b.ssd, &err) ||
        fgm_tiny_open(b.model_dir, b.threads, &b.tiny, &err) ||
        fgm_landmarks_open(b.model_dir, b.threads, &b.landmarks, &err) ||
        fgm_blaze_open(b.fast_model_dir, b.threads, &b.blaze, &err) ||
        fgf_mesher_open(b.fast_model_dir, b.threads, &b.mesher, &err))
        die("models", &err);

    double peak = fma_peak_gmacs(0), peak512 = fma_peak_gmacs(1);

    json_t *list = json_array();
    char *copy = strdup(images), *save = NULL;
    for (char *p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save))
        json_array_append_new(list, bench_image(&b, p));
    free(copy);

    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    json_t *networks = profile_networks(&b, first_image(images));
    json_t *doc =
        json_pack("{s:s, s:s, s:i, s:i, s:f, s:o, s:f, s:f, s:o}", "format", "facegate-bench/1",
                  "implementation", "facegate (C, XNNPACK)", "threads", b.threads, "runs", b.runs,
                  "peak_rss_mb", ru.ru_maxrss / 1024.0, "images", list, "fma_peak_gmacs_1t", peak,
                  "fma512_peak_gmacs_1t", peak512, "networks", networks);
    if (json_path) {
        if (json_dump_file(doc, json_path, JSON_INDENT(1))) {
            fprintf(stderr, "bench_engine: cannot write %s\n", json_path);
            return 1;
        }
    } else {
        json_dumpf(doc, stdout, JSON_INDENT(1));
        fputc('\n', stdout);
    }
    json_decref(doc);
    fg_engine_free(b.ssd_engine);
    fg_engine_free(b.tiny_engine);
    fg_engine_free(b.tta_engine);
    fgm_ssd_free(b.ssd);
    fgm_tiny_free(b.tiny);
    fgm_landmarks_free(b.landmarks);
    fg_engine_free(b.fast_engine);
    fg_engine_free(b.frame_engine);
    fgm_blaze_free(b.blaze);
    fgf_mesher_free(b.mesher);
    return 0;
}
