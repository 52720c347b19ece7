/*
 * report.c - an evaluation's report as text, JSON and an SVG picture (ROC curve and the
 * genuine/impostor distance histograms), written by hand: no plotting dependency.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "eval/eval.h"

/* ---- JSON ----------------------------------------------------------------------------------- */

static json_t *paths_with_status(const fg_eval_set *set, const fg_eval_descriptor *desc, int status)
{
    json_t *a = json_array();
    for (size_t i = 0; set && desc && i < set->n_images; i++)
        if (desc[i].status == status) json_array_append_new(a, json_string(set->images[i]));
    return a;
}

static json_t *by_far_level(const double values[FG_EVAL_FAR_LEVELS])
{
    json_t *o = json_object();
    for (int k = 0; k < FG_EVAL_FAR_LEVELS; k++)
        json_object_set_new(o, fg_eval_far_names[k], json_real(values[k]));
    return o;
}

json_t *fg_eval_report_json(const fg_eval_report *r, const fg_eval_set *set,
                            const fg_eval_descriptor *desc)
{
    json_t *o = json_object();
    json_object_set_new(o, "pairs", json_integer((json_int_t)r->pairs));
    json_object_set_new(o, "genuine_pairs", json_integer((json_int_t)r->genuine));
    json_object_set_new(o, "impostor_pairs", json_integer((json_int_t)r->impostor));
    json_object_set_new(o, "pairs_with_no_face", json_integer((json_int_t)r->pairs_no_face));
    json_object_set_new(o, "images", json_integer((json_int_t)r->images));
    json_object_set_new(o, "no_face", json_integer((json_int_t)r->no_face));
    json_object_set_new(o, "no_face_rate",
                        json_real(r->images ? (double)r->no_face / r->images : 0));
    json_object_set_new(o, "errors", json_integer((json_int_t)r->errors));
    json_object_set_new(o, "no_face_images", paths_with_status(set, desc, FG_EVAL_NO_FACE));
    json_object_set_new(o, "error_images", paths_with_status(set, desc, FG_EVAL_ERROR));
    json_object_set_new(o, "folds", json_integer(r->folds));
    json_object_set_new(o, "accuracy", json_real(r->accuracy));
    if (r->folds) json_object_set_new(o, "accuracy_std", json_real(r->accuracy_std));
    json_object_set_new(o, "at_eval_threshold",
                        json_pack("{s:f, s:f, s:f, s:f}", "threshold", r->eval_threshold,
                                  "accuracy", r->accuracy_at_threshold, "far", r->far_at_threshold,
                                  "tar", r->tar_at_threshold));
    if (r->euclidean)
        json_object_set_new(o, "accuracy_at_0.6", json_real(r->accuracy_at_reference));
    json_object_set_new(
        o, "best_accuracy",
        json_pack("{s:f, s:f}", "accuracy", r->best_accuracy, "threshold", r->best_threshold));
    json_object_set_new(o, "eer", json_real(r->eer));
    json_object_set_new(o, "eer_threshold", json_real(r->eer_threshold));
    json_object_set_new(o, "tar_at_far", by_far_level(r->tar_at_far));
    json_object_set_new(o, "threshold_at_far", by_far_level(r->threshold_at_far));
    json_object_set_new(o, "far_reached_at_far", by_far_level(r->far_at_far));
    json_object_set_new(o, "target_far", json_real(r->target_far));
    json_object_set_new(o, "threshold", json_real(r->threshold));
    json_object_set_new(o, "at_threshold",
                        json_pack("{s:f, s:f, s:f}", "far", r->far_at_calibrated, "tar",
                                  r->tar_at_calibrated, "accuracy", r->accuracy_at_calibrated));
    return o;
}

/* ---- text ----------------------------------------------------------------------------------- */

static double pct(double x)
{
    return 100.0 * x;
}

void fg_eval_report_print(const fg_eval_report *r, FILE *f)
{
    fprintf(f,
            "pairs: %zu (%zu genuine, %zu impostor), %zu with a photo without a face "
            "(counted as errors)\n",
            r->pairs, r->genuine, r->impostor, r->pairs_no_face);
    fprintf(f, "images: %zu, no face found: %zu (%.2f%%), unreadable: %zu\n", r->images, r->no_face,
            r->images ? pct((double)r->no_face / r->images) : 0.0, r->errors);
    if (r->folds)
        fprintf(f, "accuracy (%d-fold): %.2f%% +- %.2f%%\n", r->folds, pct(r->accuracy),
                pct(r->accuracy_std));
    fprintf(f, "accuracy at threshold %.4f: %.2f%% (FAR %.2f%%, TAR %.2f%%)\n", r->eval_threshold,
            pct(r->accuracy_at_threshold), pct(r->far_at_threshold), pct(r->tar_at_threshold));
    if (r->euclidean)
        fprintf(f, "accuracy at 0.6 (reference): %.2f%%\n", pct(r->accuracy_at_reference));
    fprintf(f, "best accuracy: %.2f%% at threshold %.4f\n", pct(r->best_accuracy),
            r->best_threshold);
    fprintf(f, "EER: %.2f%% at threshold %.4f\n", pct(r->eer), r->eer_threshold);
    for (int k = 0; k < FG_EVAL_FAR_LEVELS; k++) {
        fprintf(f, "TAR at FAR %s: %.2f%% (threshold %.4f, FAR reached %.3f%%)",
                fg_eval_far_names[k], pct(r->tar_at_far[k]), r->threshold_at_far[k],
                pct(r->far_at_far[k]));
        /* With fewer than 1/FAR impostor pairs the level means "no false accept at all". */
        if (r->impostor && (double)r->impostor * fg_eval_far_levels[k] < 1)
            fprintf(f, " [only %zu impostor pairs: FAR 0]", r->impostor);
        fputc('\n', f);
    }
    fprintf(f, "threshold for FAR <= %g: %.4f (FAR %.3f%%, TAR %.2f%%, accuracy %.2f%%)\n",
            r->target_far, r->threshold, pct(r->far_at_calibrated), pct(r->tar_at_calibrated),
            pct(r->accuracy_at_calibrated));
}

/* ---- the policy on the set's population ----------------------------------------------------- */

void fg_eval_population_print(const fg_eval_population *p, const fg_policy *policy, FILE *f)
{
    fprintf(f,
            "population: %zu users enrolled from %zu images, %zu log-in attempts (%zu genuine, "
            "%zu impostor pairs)\n",
            p->users, p->templates, p->attempts, p->genuine, p->impostor);
    fprintf(f, "policy %s: threshold %.4f (5-95%%: %.4f-%.4f): FAR %.3f%% (%zu), TAR %.2f%%\n",
            policy->fixed  ? "fixed"
            : p->estimated ? "adaptive"
                           : "adaptive, fallback",
            p->threshold, p->threshold_low, p->threshold_high, pct(p->far), p->false_accepts,
            pct(p->tar));
    fprintf(f,
            "this population's threshold for FAR <= %g: %.4f (TAR %.2f%%); at %.4f: FAR %.3f%%, "
            "TAR %.2f%%; best accuracy %.2f%%\n",
            policy->target_far, p->own_threshold, pct(p->tar_at_own), (double)policy->ceiling,
            pct(p->far_at_ceiling), pct(p->tar_at_ceiling), pct(p->best_accuracy));
}

json_t *fg_eval_population_json(const fg_eval_population *p)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:b, s:f, s:f, s:f, s:f, s:f, "
                     "s:f, s:f, s:f}",
                     "users", (json_int_t)p->users, "templates", (json_int_t)p->templates,
                     "attempts", (json_int_t)p->attempts, "genuine", (json_int_t)p->genuine,
                     "impostor", (json_int_t)p->impostor, "true_accepts",
                     (json_int_t)p->true_accepts, "false_accepts", (json_int_t)p->false_accepts,
                     "far", p->far, "tar", p->tar, "estimated", p->estimated, "threshold",
                     p->threshold, "threshold_low", p->threshold_low, "threshold_high",
                     p->threshold_high, "own_threshold", p->own_threshold, "tar_at_own",
                     p->tar_at_own, "far_at_ceiling", p->far_at_ceiling, "tar_at_ceiling",
                     p->tar_at_ceiling, "best_accuracy", p->best_accuracy);
}

void fg_eval_population_table(const char *const *names, const fg_eval_population *rows, size_t n,
                              const fg_policy *policy, FILE *f)
{
    fprintf(f,
            "| set | users | attempts | threshold (5-95%%) | FAR | TAR | own threshold, FAR <= "
            "%g | TAR there | best accuracy | FAR / TAR at %.3f |\n",
            policy->target_far, (double)policy->ceiling);
    fprintf(f, "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
    for (size_t i = 0; i < n; i++) {
        const fg_eval_population *p = &rows[i];
        fprintf(f,
                "| %s | %zu | %zu | %.3f%s (%.3f-%.3f) | %.3f%% (%zu/%zu) | %.2f%% | %.3f | "
                "%.2f%% | %.2f%% | %.2f%% / %.2f%% |\n",
                names[i], p->users, p->attempts, p->threshold,
                policy->fixed || p->estimated ? "" : " fallback", p->threshold_low,
                p->threshold_high, pct(p->far), p->false_accepts, p->impostor, pct(p->tar),
                p->own_threshold, pct(p->tar_at_own), pct(p->best_accuracy), pct(p->far_at_ceiling),
                pct(p->tar_at_ceiling));
    }
}

/* ---- SVG ------------------------------------------------------------------------------------ */

#define SVG_W 1020
#define SVG_H 440
#define PLOT_TOP 60
#define PLOT_H 300
#define ROC_X 70
#define PLOT_W 360 /* the ROC's width */
#define HIST_X 520
#define HIST_W 320
#define LEGEND_X (HIST_X + HIST_W + 14)
#define HIST_BINS 60
#define GENUINE_COLOUR "#1f77b4"
#define IMPOSTOR_COLOUR "#d62728"

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static float *finite_class(const fg_eval_pair *pairs, size_t n, int genuine, size_t *count,
                           size_t *all)
{
    float *d = malloc((n ? n : 1) * sizeof *d);
    *count = *all = 0;
    if (!d) return NULL;
    for (size_t i = 0; i < n; i++) {
        if (pairs[i].genuine != genuine) continue;
        (*all)++;
        if (!pairs[i].no_face && isfinite(pairs[i].distance)) d[(*count)++] = pairs[i].distance;
    }
    qsort(d, *count, sizeof *d, cmp_float);
    return d;
}

static void axis_label(FILE *f, double x, double y, const char *anchor, const char *text)
{
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\">%s</text>\n", x, y, anchor, text);
}

/* A panel's group, its title and its frame (x, PLOT_TOP, width, PLOT_H). */
static void panel_start(FILE *f, int x, int width, const char *title)
{
    fprintf(f, "<g font-size=\"12\">\n");
    axis_label(f, x + width / 2.0, PLOT_TOP - 12, "middle", title);
    fprintf(f,
            "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
            "stroke=\"#444\"/>\n",
            x, PLOT_TOP, width, PLOT_H);
}

/* The ROC: TAR (linear, from tar_min to 1) against FAR (log, from far_min to 1). */
static void svg_roc(FILE *f, const float *gen, size_t ng, size_t ng_all, const float *imp,
                    size_t ni, size_t ni_all, const fg_eval_report *r)
{
    double far_min = 1e-4, tar_min = 0.9;
    if (ni_all) far_min = fmin(far_min, pow(10, floor(log10(1.0 / ni_all))));
    /* The TAR axis starts low enough to show the curve from far_min up. */
    double low = r->tar_at_far[FG_EVAL_FAR_LEVELS - 1];
    while (tar_min > 0 && low < tar_min)
        tar_min -= 0.1;
    if (tar_min < 0) tar_min = 0;
    const double decades = -log10(far_min);

#define RX(far) (ROC_X + PLOT_W * (1 + log10(fmax(far, far_min)) / decades))
#define RY(tar) (PLOT_TOP + PLOT_H * (1 - ((tar)-tar_min) / (1 - tar_min)))
    panel_start(f, ROC_X, PLOT_W, "ROC: true accepts vs false accepts");
    for (int e = 0; e <= (int)lround(decades); e++) {
        double far = pow(10, -e), x = RX(far);
        char text[32];
        snprintf(text, sizeof text, e ? "1e-%d" : "1", e);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#ddd\"/>\n", x,
                PLOT_TOP, x, PLOT_TOP + PLOT_H);
        axis_label(f, x, PLOT_TOP + PLOT_H + 16, "middle", text);
    }
    for (int k = 0; k <= 5; k++) {
        double tar = tar_min + (1 - tar_min) * k / 5, y = RY(tar);
        char text[32];
        snprintf(text, sizeof text, "%.0f%%", 100 * tar);
        fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", ROC_X,
                y, ROC_X + PLOT_W, y);
        axis_label(f, ROC_X - 6, y + 4, "end", text);
    }
    axis_label(f, ROC_X + PLOT_W / 2.0, PLOT_TOP + PLOT_H + 34, "middle",
               "false accept rate (impostor pairs accepted, log scale)");
    fprintf(f,
            "<text transform=\"translate(%d,%d) rotate(-90)\" text-anchor=\"middle\">"
            "true accept rate</text>\n",
            ROC_X - 48, PLOT_TOP + PLOT_H / 2);

    /* One point per distinct distance, thinned to half-pixel moves. */
    fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"",
            GENUINE_COLOUR);
    double last_x = -1, last_y = -1;
    size_t gi = 0, ii = 0;
    while (gi < ng || ii < ni) {
        float v = gi < ng && (ii >= ni || gen[gi] <= imp[ii]) ? gen[gi] : imp[ii];
        while (gi < ng && gen[gi] <= v)
            gi++;
        while (ii < ni && imp[ii] <= v)
            ii++;
        double far = ni_all ? (double)ii / ni_all : 0, tar = ng_all ? (double)gi / ng_all : 0;
        double x = RX(far), y = RY(fmax(tar, tar_min));
        if (fabs(x - last_x) < 0.5 && fabs(y - last_y) < 0.5 && (gi < ng || ii < ni)) continue;
        fprintf(f, "%.1f,%.1f ", x, y);
        last_x = x, last_y = y;
    }
    fprintf(f, "\"/>\n");
    /* The calibrated operating point. */
    fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"#000\"/>\n", RX(r->far_at_threshold),
            RY(fmax(r->tar_at_threshold, tar_min)));
    char text[128];
    snprintf(text, sizeof text, "threshold %.3f: FAR %.2f%%, TAR %.2f%%", r->eval_threshold,
             100 * r->far_at_threshold, 100 * r->tar_at_threshold);
    axis_label(f, ROC_X + PLOT_W - 8, RY(tar_min) - 10, "end", text);
    fprintf(f, "</g>\n");
#undef RX
#undef RY
}

/* Histograms of the distances of each class, as a fraction of the class's pairs. */
static void svg_histograms(FILE *f, const float *gen, size_t ng, size_t ng_all, const float *imp,
                           size_t ni, size_t ni_all, const fg_eval_report *r)
{
    double top = 0;
    if (ng) top = gen[ng - 1];
    if (ni) top = fmax(top, imp[ni - 1]);
    double d_max = fmax(1.0, ceil(top * 10) / 10), bin = d_max / HIST_BINS;
    double counts[2][HIST_BINS] = {{0}}, peak = 0;
    const float *cls[2] = {gen, imp};
    size_t n[2] = {ng, ni}, all[2] = {ng_all, ni_all};
    const char *colour[2] = {GENUINE_COLOUR, IMPOSTOR_COLOUR};

    for (int c = 0; c < 2; c++) {
        for (size_t i = 0; i < n[c]; i++) {
            int b = (int)(cls[c][i] / bin);
            counts[c][b < 0 ? 0 : b >= HIST_BINS ? HIST_BINS - 1 : b] += 1.0 / all[c];
        }
        for (int b = 0; b < HIST_BINS; b++)
            peak = fmax(peak, counts[c][b]);
    }
    if (peak <= 0) peak = 1;
#define HX(d) (HIST_X + HIST_W * (d) / d_max)
#define HY(v) (PLOT_TOP + PLOT_H * (1 - (v) / (peak * 1.05)))
    panel_start(f, HIST_X, HIST_W, "distance histograms (fraction of each class)");
    for (int c = 0; c < 2; c++)
        for (int b = 0; b < HIST_BINS; b++) {
            if (counts[c][b] <= 0) continue;
            fprintf(f,
                    "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" "
                    "fill-opacity=\"0.55\"/>\n",
                    HX(b * bin), HY(counts[c][b]), HX(bin) - HIST_X,
                    PLOT_TOP + PLOT_H - HY(counts[c][b]), colour[c]);
        }
    for (int k = 0; k * 0.2 <= d_max + 1e-9; k++) {
        char text[16];
        snprintf(text, sizeof text, "%.1f", k * 0.2);
        axis_label(f, HX(k * 0.2), PLOT_TOP + PLOT_H + 16, "middle", text);
    }
    int euclidean = r->euclidean; /* the reference's 0.6 is a Euclidean threshold */
    axis_label(f, HIST_X + HIST_W / 2.0, PLOT_TOP + PLOT_H + 34, "middle",
               euclidean ? "Euclidean distance between descriptors"
                         : "match distance (between unit-length descriptors)");
    /* The threshold under test (solid) and the reference's 0.6 (dashed). */
    fprintf(f,
            "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#000\" "
            "stroke-width=\"1.5\"/>\n",
            HX(r->eval_threshold), PLOT_TOP, HX(r->eval_threshold), PLOT_TOP + PLOT_H);
    if (euclidean)
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#777\" "
                "stroke-dasharray=\"5,4\"/>\n",
                HX(0.6), PLOT_TOP, HX(0.6), PLOT_TOP + PLOT_H);
    char text[96];
    /* The legend, right of the plot. */
    double ly = PLOT_TOP + 10;
    const char *names[2] = {"genuine", "impostor"};
    for (int c = 0; c < 2; c++, ly += 36) {
        fprintf(f,
                "<rect x=\"%d\" y=\"%.1f\" width=\"12\" height=\"12\" fill=\"%s\" "
                "fill-opacity=\"0.55\"/>\n",
                LEGEND_X, ly, colour[c]);
        axis_label(f, LEGEND_X + 18, ly + 10, "start", names[c]);
        snprintf(text, sizeof text, "%zu pairs", all[c]);
        axis_label(f, LEGEND_X + 18, ly + 26, "start", text);
    }
    fprintf(f,
            "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#000\" "
            "stroke-width=\"1.5\"/>\n",
            LEGEND_X, ly + 6, LEGEND_X + 12, ly + 6);
    snprintf(text, sizeof text, "threshold %.3f", r->eval_threshold);
    axis_label(f, LEGEND_X + 18, ly + 10, "start", text);
    if (euclidean) {
        fprintf(f,
                "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#777\" "
                "stroke-dasharray=\"4,3\"/>\n",
                LEGEND_X, ly + 26, LEGEND_X + 12, ly + 26);
        axis_label(f, LEGEND_X + 18, ly + 30, "start", "0.6 (reference)");
    }
    fprintf(f, "</g>\n");
#undef HX
#undef HY
}

/* Escapes the XML specials of text into buf. */
static const char *xml_text(const char *text, char *buf, size_t size)
{
    size_t o = 0;
    for (; text && *text && o + 7 < size; text++) {
        const char *rep = *text == '<'   ? "&lt;"
                          : *text == '>' ? "&gt;"
                          : *text == '&' ? "&amp;"
                                         : NULL;
        if (rep) {
            o += (size_t)snprintf(buf + o, size - o, "%s", rep);
        } else {
            buf[o++] = *text;
        }
    }
    buf[o] = 0;
    return buf;
}

int fg_eval_write_svg(const char *path, const fg_eval_pair *pairs, size_t n,
                      const fg_eval_report *r, const char *title, fg_error *err)
{
    size_t ng, ng_all, ni, ni_all;
    float *gen = finite_class(pairs, n, 1, &ng, &ng_all);
    float *imp = finite_class(pairs, n, 0, &ni, &ni_all);
    char escaped[512];
    FILE *f = NULL;
    int rc = FG_OK;

    if (!gen || !imp) {
        rc = fg_fail(err, FG_ENOMEM, "out of memory drawing %s", path);
        goto out;
    }
    if (!(f = fopen(path, "w"))) {
        rc = fg_fail(err, FG_EIO, "cannot write %s: %s", path, strerror(errno));
        goto out;
    }
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\">\n",
            SVG_W, SVG_H, SVG_W, SVG_H);
    fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>\n");
    fprintf(f, "<text x=\"%d\" y=\"24\" font-size=\"15\" font-weight=\"bold\">%s</text>\n",
            ROC_X - 50, xml_text(title, escaped, sizeof escaped));
    fprintf(f,
            "<text x=\"%d\" y=\"%d\" font-size=\"12\">%zu pairs, %zu without a face; "
            "accuracy %.2f%% at %.3f, EER %.2f%%, TAR %.2f%% at FAR 1e-2; FAR &lt;= %g "
            "at %.3f on this set</text>\n",
            ROC_X - 50, SVG_H - 12, r->pairs, r->pairs_no_face, 100 * r->accuracy_at_threshold,
            r->eval_threshold, 100 * r->eer, 100 * r->tar_at_far[0], r->target_far, r->threshold);
    svg_roc(f, gen, ng, ng_all, imp, ni, ni_all, r);
    svg_histograms(f, gen, ng, ng_all, imp, ni, ni_all, r);
    fprintf(f, "</svg>\n");
    if (fclose(f)) rc = fg_fail(err, FG_EIO, "cannot write %s: %s", path, strerror(errno));
out:
    free(gen);
    free(imp);
    return rc;
}
