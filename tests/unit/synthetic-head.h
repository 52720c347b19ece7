/*
 * synthetic-head.h - fast-path frames of a synthetic head for the liveness verifier's tests: a
 * few dozen named FaceMesh points of a 3-D face (the nose 50 units in front of the face plane)
 * rotated by yaw and pitch and projected, or the same points on a flat picture (a photo turned
 * in front of the camera: no depth). The mesh's yaw/pitch fields carry the angles asked for, as
 * the fast path's estimate would. Static functions, included by the tests.
 */
#ifndef FG_TEST_SYNTHETIC_HEAD_H
#define FG_TEST_SYNTHETIC_HEAD_H

#include <math.h>
#include <string.h>

#include "facegate.h"

typedef struct head_pose {
    double yaw, pitch;   /* degrees, the mesh's signs (yaw > 0: the subject's right) */
    double eye[2];       /* openness per eye (right, left) */
    double cx, cy, size; /* where the face is and its scale (1 = about 160 px wide) */
    int flat;            /* a picture: every point in one plane */
} head_pose;

static const head_pose HEAD_FRONT = {0, 0, {0.3, 0.3}, 320, 240, 1, 0};

static void head_point(fg_face_mesh *m, const head_pose *h, int i, double x, double y, double z)
{
    double a = h->yaw * M_PI / 180, b = h->pitch * M_PI / 180;
    if (h->flat) z = 0;
    /* yaw about the vertical axis (the nose, in front at z < 0, goes left for yaw > 0), then
     * pitch about the horizontal one (the nose goes down for pitch > 0). */
    double x1 = x * cos(a) + z * sin(a), z1 = -x * sin(a) + z * cos(a);
    double y1 = y * cos(b) - z1 * sin(b), z2 = y * sin(b) + z1 * cos(b);
    m->points[i].x = (float)(h->cx + h->size * x1);
    m->points[i].y = (float)(h->cy + h->size * y1);
    m->points[i].z = (float)(h->size * z2);
}

/* One face of a frame: its mesh and box. */
static void head_face(const head_pose *h, fg_face *face, fg_face_mesh *m)
{
    static const short upper[2][5] = {{161, 160, 159, 158, 157}, {388, 387, 386, 385, 384}};
    static const short lower[2][5] = {{163, 144, 145, 153, 154}, {390, 373, 374, 380, 381}};
    memset(m, 0, sizeof *m);
    memset(face, 0, sizeof *face);
    /* Every point first on an ellipse of the face's outline (its extent: 160 x 200). */
    for (int i = 0; i < FG_MESH_POINTS; i++) {
        double u = 2 * M_PI * i / FG_MESH_POINTS;
        head_point(m, h, i, 80 * cos(u), 100 * sin(u), 30);
    }
    head_point(m, h, 10, 0, -90, 10);  /* forehead */
    head_point(m, h, 152, 0, 95, 10);  /* chin */
    head_point(m, h, 234, -78, 0, 40); /* cheeks */
    head_point(m, h, 454, 78, 0, 40);
    head_point(m, h, 105, -30, -45, 0); /* mid-brows */
    head_point(m, h, 334, 30, -45, 0);
    head_point(m, h, 61, -28, 45, 0); /* mouth corners */
    head_point(m, h, 291, 28, 45, 0);
    head_point(m, h, 1, 0, 15, -50); /* nose tip and above it */
    head_point(m, h, 4, 0, 5, -45);
    for (int e = 0; e < 2; e++) {
        double side = e == 0 ? -1 : 1, gap = h->eye[e] * 30;
        head_point(m, h, e == 0 ? 33 : 263, side * 45, -20, 0); /* outer corner */
        head_point(m, h, e == 0 ? 133 : 362, side * 15, -20, 0);
        for (int k = 0; k < 5; k++) {
            double x = side * (40 - 5 * k);
            head_point(m, h, upper[e][k], x, -20 - gap / 2, 0);
            head_point(m, h, lower[e][k], x, -20 + gap / 2, 0);
        }
    }
    m->confidence = 1;
    m->yaw = (float)h->yaw;
    m->pitch = (float)h->pitch;
    face->score = 1;
    face->box.x = (float)(h->cx - 80 * h->size);
    face->box.y = (float)(h->cy - 100 * h->size);
    face->box.width = (float)(160 * h->size);
    face->box.height = (float)(200 * h->size);
}

#endif
