/*
 * measure.c - per-frame measures of a fast-path mesh for the liveness verifier, and the
 * homography fit of the parallax test. A few hundred multiply-adds per face.
 */
#include "liveness/measure.h"

#include <math.h>
#include <string.h>

/* FaceMesh (MediaPipe numbering). Eye lids: the iris-refined EyeUpper0 / EyeLower0 contours as
 * 5 vertical pairs, and the eye's corners (outer, inner); per the subject's eye. */
static const short lid_upper[2][5] = {{161, 160, 159, 158, 157}, {388, 387, 386, 385, 384}};
static const short lid_lower[2][5] = {{163, 144, 145, 153, 154}, {390, 373, 374, 380, 381}};
static const short eye_corner[2][2] = {{33, 133}, {263, 362}};
/* The "face plane" the homography is fitted on (eye corners, mouth corners, mid-brows, chin,
 * forehead), then the nose tip and the point above it, the most protruding points. */
static const short plane_points[FGL_PLANE_POINTS + FGL_NOSE_POINTS] = {33,  133, 362, 263, 61, 291,
                                                                       105, 334, 152, 10,  1,  4};
/* FaceMesh's own points (the iris points after them are left out of the extent). */
#define MESH_FACE_POINTS 468

static double dist2d(const fg_point3 *a, const fg_point3 *b)
{
    return hypot(a->x - b->x, a->y - b->y);
}

static void extent(const fg_face_mesh *mesh, double *cx, double *cy, double *fw, double *fh)
{
    double x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY;
    for (int i = 0; i < MESH_FACE_POINTS; i++) {
        x0 = fmin(x0, mesh->points[i].x), x1 = fmax(x1, mesh->points[i].x);
        y0 = fmin(y0, mesh->points[i].y), y1 = fmax(y1, mesh->points[i].y);
    }
    *cx = (x0 + x1) / 2, *cy = (y0 + y1) / 2, *fw = x1 - x0, *fh = y1 - y0;
}

void fgl_measure_mesh(const fg_face_mesh *mesh, fgl_measure *out)
{
    const fg_point3 *p = mesh->points;
    memset(out, 0, sizeof *out);
    out->yaw = mesh->yaw;
    out->pitch = mesh->pitch;
    out->roll = mesh->roll;
    /* Eye openness in 2-D: mean lid gap over the corner-to-corner width (the prototype's; the
     * mesh's own eye_openness is a 3-D six-point ratio). */
    for (int e = 0; e < 2; e++) {
        double gap = 0, width = dist2d(&p[eye_corner[e][0]], &p[eye_corner[e][1]]);
        for (int k = 0; k < 5; k++)
            gap += dist2d(&p[lid_upper[e][k]], &p[lid_lower[e][k]]);
        out->eye[e] = width > 0 ? (float)(gap / 5 / width) : 0.0f;
    }
    extent(mesh, &out->cx, &out->cy, &out->fw, &out->fh);
    for (int i = 0; i < FGL_PLANE_POINTS + FGL_NOSE_POINTS; i++) {
        out->plane.x[i] = p[plane_points[i]].x;
        out->plane.y[i] = p[plane_points[i]].y;
    }
    out->plane.iod = dist2d(&p[33], &p[263]);
}

int fgl_main_face(const fgl_frame *f, float min_confidence, float min_width, int *index,
                  fgl_measure *out)
{
    double best_w = 0, mcx = 0, mcy = 0, mfh = 0;
    int main = -1, count = 0;
    *index = -1;
    for (size_t i = 0; i < f->count; i++) {
        double cx, cy, fw, fh;
        if (f->meshes[i].confidence < min_confidence) continue;
        extent(&f->meshes[i], &cx, &cy, &fw, &fh);
        if (main < 0 || fw > best_w) main = (int)i, best_w = fw, mcx = cx, mcy = cy, mfh = fh;
    }
    if (main < 0 || !(best_w > 0)) return 0;
    count = 1;
    for (size_t i = 0; i < f->count; i++) {
        double cx, cy, fw, fh;
        if ((int)i == main || f->meshes[i].confidence < min_confidence) continue;
        extent(&f->meshes[i], &cx, &cy, &fw, &fh);
        int nested = fabs(cx - mcx) < best_w / 2 && fabs(cy - mcy) < mfh / 2;
        if (fw >= min_width * best_w && !nested) count++;
    }
    *index = main;
    fgl_measure_mesh(&f->meshes[main], out);
    return count;
}

/* Hartley normalisation: centroid to the origin, mean distance sqrt(2). */
static void normalise(const double *x, const double *y, int n, double *s, double *mx, double *my)
{
    double d = 0;
    *mx = *my = 0;
    for (int i = 0; i < n; i++)
        *mx += x[i], *my += y[i];
    *mx /= n, *my /= n;
    for (int i = 0; i < n; i++)
        d += hypot(x[i] - *mx, y[i] - *my);
    *s = d > 0 ? M_SQRT2 / (d / n) : 1;
}

/* Least-squares homography ref -> cur on the plane points (h33 = 1; the 8x8 normal equations
 * solved by Gaussian elimination with partial pivoting), in normalised coordinates. */
static int fit(const fgl_plane *ref, const fgl_plane *cur, double h[9], double ns[3], double nd[3])
{
    double a[8][9] = {{0}};
    normalise(ref->x, ref->y, FGL_PLANE_POINTS, &ns[0], &ns[1], &ns[2]);
    normalise(cur->x, cur->y, FGL_PLANE_POINTS, &nd[0], &nd[1], &nd[2]);
    for (int i = 0; i < FGL_PLANE_POINTS; i++) {
        double x = (ref->x[i] - ns[1]) * ns[0], y = (ref->y[i] - ns[2]) * ns[0];
        double u = (cur->x[i] - nd[1]) * nd[0], v = (cur->y[i] - nd[2]) * nd[0];
        double rows[2][9] = {{x, y, 1, 0, 0, 0, -u * x, -u * y, u},
                             {0, 0, 0, x, y, 1, -v * x, -v * y, v}};
        for (int r = 0; r < 2; r++)
            for (int j = 0; j < 8; j++)
                for (int k = 0; k < 9; k++)
                    a[j][k] += rows[r][j] * rows[r][k];
    }
    for (int c = 0; c < 8; c++) {
        int piv = c;
        for (int r = c + 1; r < 8; r++)
            if (fabs(a[r][c]) > fabs(a[piv][c])) piv = r;
        if (fabs(a[piv][c]) < 1e-12) return -1;
        if (piv != c)
            for (int k = 0; k < 9; k++) {
                double tmp = a[c][k];
                a[c][k] = a[piv][k], a[piv][k] = tmp;
            }
        for (int r = 0; r < 8; r++) {
            if (r == c) continue;
            double q = a[r][c] / a[c][c];
            for (int k = c; k < 9; k++)
                a[r][k] -= q * a[c][k];
        }
    }
    for (int i = 0; i < 8; i++)
        h[i] = a[i][8] / a[i][i];
    h[8] = 1;
    return 0;
}

int fgl_parallax(const fgl_plane *ref, const fgl_plane *cur, double *dx, double *dy)
{
    double h[9], ns[3], nd[3];
    *dx = *dy = 0;
    if (!(ref->iod > 0) || fit(ref, cur, h, ns, nd)) return -1;
    for (int i = FGL_PLANE_POINTS; i < FGL_PLANE_POINTS + FGL_NOSE_POINTS; i++) {
        double x = (ref->x[i] - ns[1]) * ns[0], y = (ref->y[i] - ns[2]) * ns[0];
        double w = h[6] * x + h[7] * y + h[8];
        if (fabs(w) < 1e-12) return -1;
        double u = (h[0] * x + h[1] * y + h[2]) / w, v = (h[3] * x + h[4] * y + h[5]) / w;
        /* Back from the current frame's normalised coordinates to pixels. */
        *dx += cur->x[i] - (u / nd[0] + nd[1]);
        *dy += cur->y[i] - (v / nd[0] + nd[2]);
    }
    *dx /= FGL_NOSE_POINTS * ref->iod;
    *dy /= FGL_NOSE_POINTS * ref->iod;
    return 0;
}
