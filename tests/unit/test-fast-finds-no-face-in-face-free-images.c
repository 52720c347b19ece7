/*
 * The fast path does not fire on images without faces (tests/unit/face-free.h builds them at
 * run time from ../shared photos, away from every face, and from synthetic textures):
 *   - with the engine's defaults (detection score 0.5, FaceMesh face flag FG_MESH_MIN_CONFIDENCE,
 *     padded retry) it finds no face in any image of the dev set, on which those thresholds
 *     were chosen, nor of the held-out set made the same way from other photos;
 *   - BlazeFace alone with Human's threshold (0.2, no face flag: Human's detector-only mode)
 *     fires on a good share of them, which shows the sets are not trivially easy.
 * FG_TEST_QUICK=1 (sanitizer runs) uses the dev set only.
 */
#include <stdio.h>
#include <stdlib.h>

#include "face-free.h"

static fg_engine *open_fast(float min_score, float gate, fg_padding padding, fg_detector d)
{
    fg_engine_options o;
    fg_engine *e = NULL;
    fg_error err = {0};
    fg_engine_options_init(&o);
    o.model_dir = fg_test_models();
    o.fast_model_dir = fg_test_fast_models();
    o.detector = d;
    o.min_score = min_score;
    o.mesh_min_confidence = gate;
    o.padding = padding;
    CHECKF(fg_engine_open(&o, &e, &err) == FG_OK, "engine: %s", err.message);
    return e;
}

/* How many images of the set the engine finds a face in (printing each one). */
static int firing(fg_engine *e, const face_free_set *s, const char *label)
{
    int hits = 0;
    for (int i = 0; i < s->n; i++) {
        fg_face *faces = NULL;
        fg_face_mesh *meshes = NULL;
        size_t n = 0;
        fg_error err = {0};
        CHECKF(fg_detect_mesh(e, &s->images[i], &faces, &meshes, &n, &err) == FG_OK, "%s: %s",
               s->names[i], err.message);
        if (n) {
            hits++;
            if (label)
                printf("  %s: %s: %zu face(s), score %.3f, face flag %.3f\n", label, s->names[i], n,
                       (double)faces[0].score, (double)meshes[0].confidence);
        }
        free(faces);
        free(meshes);
    }
    return hits;
}

int main(void)
{
    static face_free_set set;
    int quick = getenv("FG_TEST_QUICK") != NULL;
    /* The faces to keep away from: both detectors at low thresholds. */
    fg_engine *ssd = open_fast(0.3f, 0.1f, FG_PADDING_RETRY, FG_DETECTOR_SSD);
    fg_engine *finder = open_fast(0.1f, 0.1f, FG_PADDING_RETRY, FG_DETECTOR_BLAZE);
    fg_engine *fast = open_fast(0.5f, FG_MESH_MIN_CONFIDENCE, FG_PADDING_RETRY, FG_DETECTOR_BLAZE);
    fg_engine *human = open_fast(0.2f, 0.0f, FG_PADDING_NONE, FG_DETECTOR_BLAZE);

    if (ssd && finder && fast && human) {
        for (int held_out = 0; held_out <= (quick ? 0 : 1); held_out++) {
            const char *name = held_out ? "held-out set" : "dev set";
            face_free_build(&set, ssd, finder, held_out);
            CHECKF(set.n >= (held_out ? 60 : 100), "%s: only %d images", name, set.n);
            int hits = firing(fast, &set, name);
            int human_hits = firing(human, &set, NULL);
            printf("%s: %d face-free images; the fast path fires on %d, BlazeFace at Human's 0.2 "
                   "on %d\n",
                   name, set.n, hits, human_hits);
            CHECKF(hits == 0, "%s: the fast path found faces in %d face-free images", name, hits);
            CHECKF(human_hits * 5 >= set.n,
                   "%s: Human's thresholds fire on only %d of %d: the "
                   "set no longer tests anything",
                   name, human_hits, set.n);
            face_free_free(&set);
        }
    }
    fg_engine_free(ssd);
    fg_engine_free(finder);
    fg_engine_free(fast);
    fg_engine_free(human);
    return fg_test_done();
}
