/*
 * eval.h - verification accuracy of the engine on labelled data (internal, prefix fg_eval_):
 * the pair sets (LFW pairs files, identity folders), the descriptors of their images (with an
 * on-disk cache), and the metrics a login system is judged by: FAR/TAR at a threshold, the
 * threshold that reaches a target FAR, EER, accuracy (k-fold when the set has folds), plus the
 * JSON report and an SVG picture. `facegate eval` (src/cli/cmd_eval.c) is a thin shell over it.
 *
 * Conventions. A pair is accepted ("same person") when its distance is < threshold, as
 * fg_match_decide does. A pair where either image has no face (or could not be read) has
 * distance INFINITY and no_face set: it is never accepted, so it costs TAR on genuine pairs;
 * accuracy counts every such pair as an error, whatever its class (the strict reading).
 */
#ifndef FG_EVAL_H
#define FG_EVAL_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#include "face/quality.h"
#include "facegate.h"
#include "match/policy.h"

/* ---------------------------------------------------------------------------------------------
 * Metrics on scored pairs (pure functions, no engine)
 */

typedef struct fg_eval_pair {
    int a, a_count; /* enrollment images a .. a+a_count-1 of the set (a_count >= 1) */
    int b;          /* probe image */
    int genuine;    /* 1: same person */
    int fold;       /* 0..folds-1 when the set has folds, else 0 */
    int no_face;    /* 1: an image of the pair has no usable face */
    float distance; /* INFINITY when no_face */
} fg_eval_pair;

/* FAR and TAR at threshold (accept distance < threshold). Either output may be NULL. A class
 * with no pairs has rate 0. */
void fg_eval_rates(const fg_eval_pair *pairs, size_t n, double threshold, double *far, double *tar);

/* The largest threshold whose FAR is <= target_far: the (k+1)-th smallest impostor distance,
 * k = floor(target_far * impostors), so at most k impostors lie below it. With no impostors,
 * or when k reaches every impostor, it is just above the largest finite distance. With no
 * finite distance at all, 0. */
double fg_eval_threshold_at_far(const fg_eval_pair *pairs, size_t n, double target_far);

/* Equal-error rate: where FAR(t) and FRR(t) = 1 - TAR(t) cross, linearly interpolated between
 * the two operating points around the crossing. *threshold (may be NULL) gets the threshold
 * there. Returns the EER in 0..1 (0.5 with a class empty). */
double fg_eval_eer(const fg_eval_pair *pairs, size_t n, double *threshold);

/* Fraction of pairs decided correctly at threshold; no-face pairs are errors. */
double fg_eval_accuracy(const fg_eval_pair *pairs, size_t n, double threshold);

/* The best accuracy over all thresholds, and (threshold may be NULL) the threshold giving it:
 * the midpoint between the two sorted distances where the best is first reached. */
double fg_eval_best_accuracy(const fg_eval_pair *pairs, size_t n, double *threshold);

/* k-fold accuracy: for each fold, the best threshold on the other folds is applied to it.
 * Returns the mean; *std (may be NULL) gets the sample standard deviation. */
double fg_eval_kfold_accuracy(const fg_eval_pair *pairs, size_t n, int folds, double *std);

#define FG_EVAL_FAR_LEVELS 3
extern const double fg_eval_far_levels[FG_EVAL_FAR_LEVELS];     /* 1e-2, 1e-3, 1e-4 */
extern const char *const fg_eval_far_names[FG_EVAL_FAR_LEVELS]; /* "1e-2", "1e-3", "1e-4" */

typedef struct fg_eval_report {
    size_t pairs, genuine, impostor;
    size_t pairs_no_face;           /* pairs with an image without a face (errors) */
    size_t images, no_face, errors; /* distinct images; without a face; unreadable */
    int folds;                      /* 0 or 1: none */
    double accuracy;                /* k-fold mean with folds, else accuracy_at_threshold */
    double accuracy_std;            /* k-fold only, else 0 */
    double eval_threshold;          /* the threshold under test (--threshold) */
    double accuracy_at_threshold, far_at_threshold, tar_at_threshold;
    double accuracy_at_reference; /* at the reference's 0.6 */
    int euclidean; /* the distances are fg_distance's, where the reference's 0.6 applies: the
                      caller sets it (fg_eval_compute leaves 0); it shows the 0.6 figures */
    double best_accuracy, best_threshold;
    double eer, eer_threshold;
    double tar_at_far[FG_EVAL_FAR_LEVELS], threshold_at_far[FG_EVAL_FAR_LEVELS];
    double far_at_far[FG_EVAL_FAR_LEVELS]; /* the FAR actually reached there */
    double target_far, threshold; /* calibrated: the threshold reaching target_far on this set */
    double far_at_calibrated, tar_at_calibrated, accuracy_at_calibrated;
} fg_eval_report;

/* Every metric of the report from scored pairs; the image counts are left at zero. */
void fg_eval_compute(const fg_eval_pair *pairs, size_t n, int folds, double eval_threshold,
                     double target_far, fg_eval_report *out);

/* ---------------------------------------------------------------------------------------------
 * Pair sets
 */

typedef struct fg_eval_set {
    char **images; /* paths, owned */
    size_t n_images;
    fg_eval_pair *pairs; /* owned, genuine pairs first unless the file orders them otherwise */
    size_t n_pairs;
    int folds; /* folds of the pairs file (0: none) */
} fg_eval_set;

void fg_eval_set_free(fg_eval_set *set);

/* FNV-1a of a string: the hash of the eval's path tables (image index, descriptor cache). */
uint64_t fg_eval_hash(const char *s);

/* An LFW pairs file: first line "N" (one set of N same + N different pairs) or "F N" (F folds,
 * each N same then N different). Images are root/<name>/<name>_<4-digit i>.jpg. limit > 0
 * keeps only the first `limit` pairs of each class. */
int fg_eval_load_pairs(const char *pairs_file, const char *root, size_t limit, fg_eval_set *out,
                       fg_error *err);

/* Which part of a set an evaluation takes: tuning is done on one part, figures are reported on
 * the other (held out). By identity: identities in name order alternate, the first (0, 2, ...)
 * tune; by image: each identity's first ceil(n/2) images (name order) tune, the rest are held
 * out (for sets whose point is one population: the same people in both parts). */
typedef enum fg_eval_split {
    FG_EVAL_SPLIT_NONE = 0,
    FG_EVAL_SPLIT_IDENTITY = 1,
    FG_EVAL_SPLIT_IMAGE = 2,
} fg_eval_split;

typedef enum fg_eval_part {
    FG_EVAL_PART_ALL = 0,
    FG_EVAL_PART_TUNE = 1,
    FG_EVAL_PART_TEST = 2,
} fg_eval_part;

typedef struct fg_eval_folder_options {
    size_t limit;     /* > 0: at most this many pairs of each class */
    size_t impostors; /* impostor pairs to sample; 0: the default (fg_eval_load_folders) */
    unsigned long long seed;
    int enroll;          /* 0: pairs of images; K >= 1: enrollment of K images (see below) */
    int min_images;      /* enrollment: identities with at least this many images (0: K + 1) */
    fg_eval_split split; /* with part: keep only one part of the identities or images */
    fg_eval_part part;
} fg_eval_folder_options;

/* Identity folders: dir/<identity>/<image>.{jpg,jpeg,png,webp}, sorted by name. With enroll = 0,
 * every genuine pair (each unordered pair of images of an identity) and `impostors` pairs of
 * images of different identities drawn with the seed (default 0: all of them when there are at
 * most 1,000,000, else 1,000,000), without repeats. With enroll = K >= 1, identities with at
 * least M = max(min_images, K + 1) images are enrolled from their first K images and probed
 * with each image from the M-1-th on (so runs with different K and one M share their probes):
 * genuine pairs are (own enrollment, probe), impostor pairs (another identity's enrollment,
 * probe), sampled the same way. */
int fg_eval_load_folders(const char *dir, const fg_eval_folder_options *opts, fg_eval_set *out,
                         fg_error *err);

/* Replaces the pairs of a set (from a pairs file) by the pairs fg_eval_load_folders would make
 * of its images, an image's identity being its folder: far more pairs from the same photos, so
 * a FAR of 1e-3 or 1e-4 rests on more than one or two impostor pairs. Images are re-sorted, and
 * the split (if any) drops the other part's images. */
int fg_eval_expand_pairs(fg_eval_set *set, const fg_eval_folder_options *opts, fg_error *err);

/* ---------------------------------------------------------------------------------------------
 * Descriptors
 */

typedef enum fg_eval_status {
    FG_EVAL_FACE = 0,    /* descriptor of the chosen face */
    FG_EVAL_NO_FACE = 1, /* detector found nothing */
    FG_EVAL_ERROR = 2,   /* unreadable image or engine error */
    FG_EVAL_UNUSED = 3,  /* in no pair (a --limit run): not described */
} fg_eval_status;

typedef struct fg_eval_descriptor {
    int status; /* fg_eval_status */
    int faces;  /* faces found */
    int padded; /* only a padded detection pass found the face (fg_face.padded) */
    float score;
    float d[FG_DESCRIPTOR_DIM];
    fg_face_quality quality; /* of the chosen face (face/quality.h) */
} fg_eval_descriptor;

/* Called after every image (from worker threads, serialised): done of total, the path, its
 * result, cached = 1 when it came from the cache, and for FG_EVAL_ERROR what went wrong. */
typedef void (*fg_eval_progress)(void *ctx, size_t done, size_t total, const char *path,
                                 const fg_eval_descriptor *result, int cached,
                                 const fg_error *error);

/* Which face of a photo with several is described. */
typedef enum fg_eval_pick {
    FG_EVAL_PICK_SCORE = 0,   /* the most confident (fg_detect's first) */
    FG_EVAL_PICK_LARGEST = 1, /* the largest box */
    FG_EVAL_PICK_CENTER = 2,  /* the box centred nearest the photo's centre (LFW's subject) */
} fg_eval_pick;

/* The index of the face `pick` chooses among n faces (fg_detect's order) of a w x h image. */
size_t fg_eval_pick_face(const fg_face *faces, size_t n, int w, int h, fg_eval_pick pick);

typedef struct fg_eval_run_options {
    fg_engine_options engine;
    fg_eval_pick pick;
    int plain_only;         /* 1: only faces the plain (reference) pass found count, from the same
                               detections: what FG_PADDING_NONE gives, for before/after comparisons */
    int jobs;               /* worker threads, one engine each (>= 1) */
    int every_image;        /* 1: describe every image of the set, not only those in pairs (the
                               population evaluation needs them all) */
    const char *cache_path; /* NULL: no cache */
    fg_eval_progress progress;
    void *progress_ctx;
} fg_eval_run_options;

/* Describes every image of the set that is in a pair (the face `pick` chooses in each; the
 * others get FG_EVAL_UNUSED). out holds n_images entries. A per-image failure is recorded in its
 * status, not returned: the return is an error only when nothing can run (engine, cache). A cache
 * entry is keyed by the image's absolute path, size, mtime and the engine options; new results are
 * appended to the cache file. */
int fg_eval_describe(const fg_eval_set *set, const fg_eval_run_options *opts,
                     fg_eval_descriptor *out, fg_error *err);

/* How descriptors become pair distances. */
typedef struct fg_eval_score_options {
    int mean_enroll; /* several enrollment images: 1 = distance to their mean descriptor, 0 =
                        the smallest distance to any of them (what the matcher does) */
    int euclidean;   /* 1: fg_distance (the reference's), 0: fg_match_distance */
} fg_eval_score_options;

/* Fills distance/no_face of every pair of the set from the descriptors (opts may be NULL). */
void fg_eval_score(fg_eval_set *set, const fg_eval_descriptor *desc,
                   const fg_eval_score_options *opts);

/* The set-level counts of the report (images, no_face, errors), over the images in pairs. */
void fg_eval_count_images(const fg_eval_set *set, const fg_eval_descriptor *desc,
                          fg_eval_report *report);

/* ---------------------------------------------------------------------------------------------
 * The server's policy on a set's own population
 */

/* Every identity of the set (an image's identity is its folder) is enrolled from its first
 * `enroll` images with a face, as the server would: one matcher, the server's cohort statistics
 * and thresholds (match/policy.h). The identity's other images are log-in attempts of `probe`
 * frames each (consecutive images; a short remainder is dropped). Every attempt is decided
 * against every enrolled user: a pair is accepted when the attempt's distance is under that
 * user's threshold for it, the attempt's own identity left out of its cohort (an impostor whose
 * face is not enrolled: the strict case). So the threshold comes from the enrolled templates and
 * the FAR from other photos. */
typedef struct fg_eval_population_options {
    int enroll; /* templates per identity, >= 1 */
    int probe;  /* frames per attempt, 1..FG_MATCH_MAX_FRAMES */
    const fg_policy *policy;
    /* The quality gate: with window >= enroll, an identity's first `window` photos with a face
     * are the enrolment candidates (never log-ins), the first `enroll` of them that skip does
     * not flag are enrolled (topped up in order when too few pass: a person always enrols), and
     * log-ins start after the window, the same with and without the gate. window 0: enrol the
     * first `enroll`, the rest are log-ins. skip may be NULL (n_images flags). */
    int window;
    const unsigned char *skip;
} fg_eval_population_options;

typedef struct fg_eval_population {
    size_t users, templates, attempts;
    size_t genuine, impostor, true_accepts, false_accepts;
    double far, tar;
    int estimated;                         /* users >= the policy's min_users */
    double threshold;                      /* median threshold the impostor pairs faced */
    double threshold_low, threshold_high;  /* its 5th and 95th percentiles */
    double own_threshold, tar_at_own;      /* this set's FAR <= target threshold and TAR there */
    double far_at_ceiling, tar_at_ceiling; /* the fixed threshold (the policy's ceiling) */
    double best_accuracy;
} fg_eval_population;

int fg_eval_population_run(const fg_eval_set *set, const fg_eval_descriptor *desc,
                           const fg_eval_population_options *opts, fg_eval_population *out,
                           fg_error *err);

/* ---------------------------------------------------------------------------------------------
 * Output
 */

/* The report as JSON (new reference), with the paths of the images without a face. */
json_t *fg_eval_report_json(const fg_eval_report *r, const fg_eval_set *set,
                            const fg_eval_descriptor *desc);

/* The human-readable summary. */
void fg_eval_report_print(const fg_eval_report *r, FILE *f);

/* The population evaluation as text (a few lines) and as JSON (new reference). */
void fg_eval_population_print(const fg_eval_population *p, const fg_policy *policy, FILE *f);
json_t *fg_eval_population_json(const fg_eval_population *p);

/* One row per set, as a Markdown table: users, attempts, the policy's threshold, FAR and TAR
 * there, the set's own threshold for the target FAR and TAR there, best accuracy, and FAR / TAR
 * at the ceiling. */
void fg_eval_population_table(const char *const *names, const fg_eval_population *rows, size_t n,
                              const fg_policy *policy, FILE *f);

/* An SVG: the ROC curve (TAR against FAR, log FAR axis) and the genuine and impostor distance
 * histograms, with the threshold under test (eval_threshold) marked. Returns FG_OK or FG_EIO. */
int fg_eval_write_svg(const char *path, const fg_eval_pair *pairs, size_t n,
                      const fg_eval_report *r, const char *title, fg_error *err);

#endif
