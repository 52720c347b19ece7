/* The evaluation metrics on synthetic distances with known answers: EER, the threshold for a
 * target FAR and the TAR there, best and k-fold accuracy, missing faces counted as errors, FAR
 * and TAR monotone in the threshold; and the pair sets: LFW pairs files and identity folders. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "eval/eval.h"

static fg_eval_pair pair(float distance, int genuine)
{
    fg_eval_pair p = {0, 1, 1, genuine, 0, 0, distance};
    return p;
}

/* Genuine distances 0.00 .. 0.99 and impostor 0.90 .. 1.89 in steps of 0.01: ten of each class
 * overlap, so FAR = FRR = 5% at 0.95. */
static size_t overlapping(fg_eval_pair *p)
{
    size_t n = 0;
    for (int i = 0; i < 100; i++)
        p[n++] = pair((float)(i / 100.0), 1);
    for (int i = 0; i < 100; i++)
        p[n++] = pair((float)((90 + i) / 100.0), 0);
    return n;
}

static void test_known_values(void)
{
    fg_eval_pair p[200];
    size_t n = overlapping(p);
    double t, far, tar;

    CHECK_NEAR(fg_eval_eer(p, n, &t), 0.05, 1e-9);
    CHECK_NEAR(t, 0.95, 1e-6);

    /* FAR 1%: one impostor (0.90) may pass, so the threshold is the second one, 0.91. */
    t = fg_eval_threshold_at_far(p, n, 0.01);
    CHECK_NEAR(t, 0.91, 1e-6);
    fg_eval_rates(p, n, t, &far, &tar);
    CHECK_NEAR(far, 0.01, 1e-12);
    CHECK_NEAR(tar, 0.91, 1e-12);
    /* FAR 0.1% of 100 impostors: none may pass. */
    t = fg_eval_threshold_at_far(p, n, 0.001);
    CHECK_NEAR(t, 0.90, 1e-6);
    fg_eval_rates(p, n, t, &far, &tar);
    CHECK_NEAR(far, 0, 1e-12);
    CHECK_NEAR(tar, 0.90, 1e-12);
    /* FAR 1: everything passes, the threshold lies above the largest distance. */
    t = fg_eval_threshold_at_far(p, n, 1.0);
    fg_eval_rates(p, n, t, &far, &tar);
    CHECK_NEAR(far, 1, 1e-12);
    CHECK_NEAR(tar, 1, 1e-12);

    /* Best: 190 of 200, first reached between 0.89 and 0.90. */
    CHECK_NEAR(fg_eval_best_accuracy(p, n, &t), 0.95, 1e-12);
    CHECK_NEAR(t, 0.895, 1e-6);
    CHECK_NEAR(fg_eval_accuracy(p, n, t), 0.95, 1e-12);
    CHECK_NEAR(fg_eval_accuracy(p, n, 0.5), 0.75, 1e-12);
    CHECK_NEAR(fg_eval_accuracy(p, n, 2.0), 0.5, 1e-12);

    fg_eval_report r;
    fg_eval_compute(p, n, 0, 0.5, 0.01, &r);
    CHECK_EQ_INT(r.pairs, 200);
    CHECK_EQ_INT(r.genuine, 100);
    CHECK_EQ_INT(r.impostor, 100);
    CHECK_NEAR(r.accuracy, 0.75, 1e-12);
    CHECK_NEAR(r.eer, 0.05, 1e-9);
    CHECK_NEAR(r.threshold, 0.91, 1e-6);
    CHECK_NEAR(r.tar_at_far[0], 0.91, 1e-12);
    CHECK_NEAR(r.tar_at_far[1], 0.90, 1e-12);
    CHECK_NEAR(r.tar_at_far[2], 0.90, 1e-12);
}

/* Perfectly separated classes: EER 0, TAR 1 at every FAR, accuracy 1 with any threshold
 * between them, 10-fold accuracy 1 +- 0. */
static void test_separated(void)
{
    fg_eval_pair p[400];
    size_t n = 0;
    double t, std;
    for (int i = 0; i < 200; i++) {
        p[n] = pair(0.2f + 0.001f * i, 1), p[n].fold = i % 10, n++;
        p[n] = pair(0.7f + 0.001f * i, 0), p[n].fold = i % 10, n++;
    }
    CHECK_NEAR(fg_eval_eer(p, n, &t), 0, 1e-12);
    CHECK(t > 0.399 && t <= 0.7 + 1e-6);
    CHECK_NEAR(fg_eval_best_accuracy(p, n, &t), 1, 1e-12);
    CHECK(t > 0.399 && t < 0.7);
    CHECK_NEAR(fg_eval_kfold_accuracy(p, n, 10, &std), 1, 1e-12);
    CHECK_NEAR(std, 0, 1e-12);
    t = fg_eval_threshold_at_far(p, n, 1e-4);
    CHECK_NEAR(t, 0.7, 1e-6);
    double far, tar;
    fg_eval_rates(p, n, t, &far, &tar);
    CHECK_NEAR(far, 0, 1e-12);
    CHECK_NEAR(tar, 1, 1e-12);
}

/* A pair with a missing face is never accepted: a genuine one lowers TAR, and accuracy counts
 * every such pair, of either class, as an error. */
static void test_missing_faces(void)
{
    fg_eval_pair p[4] = {pair(0.3f, 1), pair(0.3f, 1), pair(0.9f, 0), pair(0.9f, 0)};
    double far, tar;
    p[1].no_face = 1, p[1].distance = INFINITY;
    p[3].no_face = 1, p[3].distance = 0.1f; /* its distance must be ignored */
    fg_eval_rates(p, 4, 0.6, &far, &tar);
    CHECK_NEAR(tar, 0.5, 1e-12);
    CHECK_NEAR(far, 0, 1e-12);
    CHECK_NEAR(fg_eval_accuracy(p, 4, 0.6), 0.5, 1e-12);
    CHECK_NEAR(fg_eval_best_accuracy(p, 4, NULL), 0.5, 1e-12);
    fg_eval_report r;
    fg_eval_compute(p, 4, 0, 0.6, 1e-3, &r);
    CHECK_EQ_INT(r.pairs_no_face, 2);
    CHECK(r.eer >= 0 && r.eer <= 0.5);
}

/* Overlapping random classes: FAR and TAR never decrease as the threshold rises, and the
 * calibrated threshold is the largest one within the target FAR. */
static void test_monotone(void)
{
    enum { N = 5000 };
    fg_eval_pair *p = malloc(N * sizeof *p);
    uint64_t s = 12345;
    double prev_far = -1, prev_tar = -1, far, tar;
    int monotone = 1;

    for (int i = 0; i < N; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        double u = (double)(s >> 11) / 9007199254740992.0;
        int genuine = i % 3 == 0;
        p[i] = pair((float)(genuine ? 0.35 + 0.35 * u : 0.55 + 0.6 * u), genuine);
    }
    for (double t = 0; t <= 1.3; t += 0.005) {
        fg_eval_rates(p, N, t, &far, &tar);
        if (far < prev_far || tar < prev_tar) monotone = 0;
        prev_far = far, prev_tar = tar;
    }
    CHECK(monotone);
    const double targets[] = {0.1, 0.01, 1e-3, 1e-4, 0};
    double prev_t = INFINITY;
    for (int k = 0; k < 5; k++) {
        double t = fg_eval_threshold_at_far(p, N, targets[k]);
        fg_eval_rates(p, N, t, &far, NULL);
        CHECKF(far <= targets[k], "FAR %g at the threshold for %g", far, targets[k]);
        fg_eval_rates(p, N, nextafter((float)t, INFINITY) + 1e-7, &far, NULL);
        CHECKF(far > targets[k], "threshold %g for FAR %g is not the largest", t, targets[k]);
        CHECK(t <= prev_t);
        prev_t = t;
    }
    double t_eer, eer = fg_eval_eer(p, N, &t_eer);
    fg_eval_rates(p, N, t_eer, &far, &tar);
    CHECKF(fabs(far - eer) < 0.01 && fabs(1 - tar - eer) < 0.01, "EER %g: FAR %g FRR %g", eer, far,
           1 - tar);
    free(p);
}

static const char *write_temp(const char *name, const char *text)
{
    static char path[256];
    snprintf(path, sizeof path, "/tmp/fg-test-eval-%d-%s", (int)getpid(), name);
    FILE *f = fopen(path, "w");
    if (f) fputs(text, f), fclose(f);
    return path;
}

static void test_pairs_file(void)
{
    fg_eval_set set;
    fg_error err = {0};
    const char *path = write_temp("pairs1.txt", "2\nAnn\t1\t2\nBob 1 3\nAnn 1 Bob 2\n"
                                                "Cid 4 Ann 2\n");
    CHECK_EQ_INT(fg_eval_load_pairs(path, "/root", 0, &set, &err), FG_OK);
    CHECK_EQ_INT(set.n_pairs, 4);
    CHECK_EQ_INT(set.folds, 0);
    CHECK_EQ_INT(set.n_images, 6); /* Ann 1, 2; Bob 1, 3, 2; Cid 4 */
    CHECK(set.pairs[0].genuine && set.pairs[1].genuine && !set.pairs[2].genuine);
    CHECK(!strcmp(set.images[set.pairs[3].a], "/root/Cid/Cid_0004.jpg"));
    CHECK_EQ_INT(set.pairs[3].b, set.pairs[0].b); /* Ann 2 is shared */
    fg_eval_set_free(&set);
    unlink(path);

    /* Two folds of one same + one different pair; --limit 1 keeps the first of each class. */
    path = write_temp("pairs2.txt", "2 1\nA 1 2\nA 1 B 1\nC 1 2\nC 1 D 1\n");
    CHECK_EQ_INT(fg_eval_load_pairs(path, "r", 0, &set, &err), FG_OK);
    CHECK_EQ_INT(set.folds, 2);
    CHECK_EQ_INT(set.n_pairs, 4);
    CHECK(set.pairs[0].fold == 0 && set.pairs[1].fold == 0 && set.pairs[2].fold == 1 &&
          set.pairs[3].fold == 1);
    fg_eval_set_free(&set);
    CHECK_EQ_INT(fg_eval_load_pairs(path, "r", 1, &set, &err), FG_OK);
    CHECK_EQ_INT(set.n_pairs, 2);
    fg_eval_set_free(&set);
    unlink(path);

    /* Expanded: the six photos of three people give 3 genuine and 12 impostor pairs. */
    path = write_temp("pairs4.txt", "3\nA 1 2\nB 1 2\nC 1 2\nA 1 B 1\nA 2 C 1\nB 2 C 2\n");
    CHECK_EQ_INT(fg_eval_load_pairs(path, "r", 0, &set, &err), FG_OK);
    fg_eval_folder_options all = {0, 0, 1, 0, 0, FG_EVAL_SPLIT_NONE, FG_EVAL_PART_ALL};
    CHECK_EQ_INT(fg_eval_expand_pairs(&set, &all, &err), FG_OK);
    CHECK_EQ_INT(set.n_images, 6);
    CHECK(!strcmp(set.images[0], "r/A/A_0001.jpg") && !strcmp(set.images[5], "r/C/C_0002.jpg"));
    size_t same = 0;
    for (size_t i = 0; i < set.n_pairs; i++) {
        same += set.pairs[i].genuine;
        CHECK_EQ_INT(set.pairs[i].genuine, set.pairs[i].a / 2 == set.pairs[i].b / 2);
    }
    CHECK_EQ_INT(same, 3);
    CHECK_EQ_INT(set.n_pairs, 15);
    fg_eval_set_free(&set);
    unlink(path);

    path = write_temp("pairs3.txt", "1\nA 1\n");
    CHECK_EQ_INT(fg_eval_load_pairs(path, "r", 0, &set, &err), FG_EINVAL);
    CHECK(strstr(err.message, ":2:") != NULL);
    unlink(path);
    CHECK_EQ_INT(fg_eval_load_pairs("/nonexistent/pairs.txt", "r", 0, &set, &err), FG_EIO);
}

/* Identity folders with 3, 2, 1 and 4 images (and a file that is not an image). */
/* An enrollment set of dir: every pair enrolls `images` photos; the class counts. */
static void check_enrollment(const char *dir, const fg_eval_folder_options *opts, int images,
                             size_t want_genuine, size_t want_impostor)
{
    fg_eval_set set;
    fg_error err = {0};
    size_t genuine = 0, impostor = 0;
    CHECK_EQ_INT(fg_eval_load_folders(dir, opts, &set, &err), FG_OK);
    for (size_t i = 0; i < set.n_pairs; i++) {
        genuine += set.pairs[i].genuine, impostor += !set.pairs[i].genuine;
        CHECK_EQ_INT(set.pairs[i].a_count, images);
    }
    CHECK_EQ_INT(genuine, want_genuine);
    CHECK_EQ_INT(impostor, want_impostor);
    fg_eval_set_free(&set);
}

static void test_folders(void)
{
    char dir[128], path[256];
    const int counts[4] = {3, 2, 1, 4};
    fg_eval_set set;
    fg_error err = {0};

    snprintf(dir, sizeof dir, "/tmp/fg-test-eval-folders-%d", (int)getpid());
    mkdir(dir, 0700);
    for (int p = 0; p < 4; p++) {
        snprintf(path, sizeof path, "%s/person%d", dir, p);
        mkdir(path, 0700);
        for (int i = 0; i < counts[p]; i++) {
            snprintf(path, sizeof path, "%s/person%d/img%d.%s", dir, p, i, i ? "jpg" : "PNG");
            fclose(fopen(path, "w"));
        }
        snprintf(path, sizeof path, "%s/person%d/notes.txt", dir, p);
        fclose(fopen(path, "w"));
    }

    fg_eval_folder_options o = {0, 0, 1, 0, 0, FG_EVAL_SPLIT_NONE, FG_EVAL_PART_ALL};
    CHECK_EQ_INT(fg_eval_load_folders(dir, &o, &set, &err), FG_OK);
    size_t genuine = 0, impostor = 0;
    for (size_t i = 0; i < set.n_pairs; i++) {
        const fg_eval_pair *q = &set.pairs[i];
        genuine += q->genuine, impostor += !q->genuine;
        /* A pair never repeats an image, and impostors join different folders. */
        CHECK(q->a != q->b);
        char *sa = strrchr(set.images[q->a], '/'), *sb = strrchr(set.images[q->b], '/');
        int same = sa - set.images[q->a] == sb - set.images[q->b] &&
                   !strncmp(set.images[q->a], set.images[q->b], (size_t)(sa - set.images[q->a]));
        CHECK(same == q->genuine);
    }
    CHECK_EQ_INT(set.n_images, 10);
    CHECK_EQ_INT(genuine, 3 + 1 + 0 + 6);
    CHECK_EQ_INT(impostor, 45 - 10); /* every unordered cross pair */
    fg_eval_set_free(&set);

    /* Sampling: 20 of the 35, no repeats, the same with the same seed. */
    fg_eval_folder_options s = {0, 20, 7, 0, 0, FG_EVAL_SPLIT_NONE, FG_EVAL_PART_ALL};
    fg_eval_set again;
    CHECK_EQ_INT(fg_eval_load_folders(dir, &s, &set, &err), FG_OK);
    CHECK_EQ_INT(fg_eval_load_folders(dir, &s, &again, &err), FG_OK);
    CHECK_EQ_INT(set.n_pairs, 10 + 20);
    CHECK_EQ_INT(again.n_pairs, set.n_pairs);
    int repeats = 0, same_sample = 1;
    for (size_t i = 0; i < set.n_pairs; i++) {
        same_sample &= set.pairs[i].a == again.pairs[i].a && set.pairs[i].b == again.pairs[i].b;
        for (size_t j = 0; j < i; j++) {
            const fg_eval_pair *x = &set.pairs[i], *y = &set.pairs[j];
            repeats += (x->a == y->a && x->b == y->b) || (x->a == y->b && x->b == y->a);
        }
    }
    CHECK_EQ_INT(repeats, 0);
    CHECK(same_sample);
    fg_eval_set_free(&set);
    fg_eval_set_free(&again);

    /* Enrollment of 2 images: persons 0 (1 probe) and 3 (2 probes); impostors are the other
     * enrollment against each probe. */
    fg_eval_folder_options e = {0, 0, 1, 2, 0, FG_EVAL_SPLIT_NONE, FG_EVAL_PART_ALL};
    check_enrollment(dir, &e, 2, 3, 3);

    /* One enrollment image, identities with at least 3: the probes of K = 2 (images 2..),
     * persons 0 and 3 again. */
    fg_eval_folder_options one = {0, 0, 1, 1, 3, FG_EVAL_SPLIT_NONE, FG_EVAL_PART_ALL};
    check_enrollment(dir, &one, 1, 3, 3);

    for (int p = 0; p < 4; p++) {
        for (int i = 0; i < counts[p]; i++) {
            snprintf(path, sizeof path, "%s/person%d/img%d.%s", dir, p, i, i ? "jpg" : "PNG");
            unlink(path);
        }
        snprintf(path, sizeof path, "%s/person%d/notes.txt", dir, p);
        unlink(path);
        snprintf(path, sizeof path, "%s/person%d", dir, p);
        rmdir(path);
    }
    rmdir(dir);
}

/* Scoring descriptors: distances, missing faces, and several enrollment images. */
static void test_score(void)
{
    fg_eval_descriptor d[4] = {0};
    fg_eval_pair pairs[3] = {{0, 1, 2, 1, 0, 0, 0}, {0, 2, 2, 1, 0, 0, 0}, {3, 1, 2, 0, 0, 0, 0}};
    fg_eval_set set = {NULL, 4, pairs, 3, 0};
    d[0].d[0] = 1, d[1].d[0] = 3, d[2].d[0] = 2.5f;
    d[3].status = FG_EVAL_NO_FACE;
    fg_eval_score_options euclidean = {0, 1}, mean = {1, 1};
    /* The match distance ignores length: images 0-2 point the same way. */
    fg_eval_score(&set, d, NULL);
    CHECK_NEAR(pairs[0].distance, 0, 1e-6);
    d[2].d[1] = 2.5f; /* 45 degrees away now: 2 sin(22.5 deg) */
    fg_eval_score(&set, d, NULL);
    CHECK_NEAR(pairs[0].distance, 0.7653669, 1e-6);
    CHECK_NEAR(pairs[1].distance, 0.7653669, 1e-6);
    d[2].d[1] = 0;
    fg_eval_score(&set, d, &euclidean);
    CHECK_NEAR(pairs[0].distance, 1.5, 1e-6);
    CHECK_NEAR(pairs[1].distance, 0.5, 1e-6); /* the nearest of images 0 and 1 */
    CHECK(pairs[2].no_face && isinf(pairs[2].distance));
    fg_eval_score(&set, d, &mean);
    CHECK_NEAR(pairs[1].distance, 0.5, 1e-6); /* |mean(1, 3) - 2.5| */
    d[1].status = FG_EVAL_NO_FACE;            /* the enrollment keeps image 0 alone */
    fg_eval_score(&set, d, &mean);
    CHECK_NEAR(pairs[1].distance, 1.5, 1e-6);
    CHECK(!pairs[1].no_face);
    fg_eval_report r = {0};
    fg_eval_count_images(&set, d, &r);
    CHECK_EQ_INT(r.images, 4);
    CHECK_EQ_INT(r.no_face, 2);
}

int main(void)
{
    test_known_values();
    test_separated();
    test_missing_faces();
    test_monotone();
    test_pairs_file();
    test_folders();
    test_score();
    return fg_test_done();
}
