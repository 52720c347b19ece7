/*
 * frames.c - the faces of one frame as the verifier must see them (liveness.h).
 */
#include <stdlib.h>

#include "core/error.h"
#include "liveness/liveness.h"

int fgl_find_faces(fg_engine *e, const fg_image *img, const fg_face_mesh *prev, fg_face **faces,
                   fg_face_mesh **meshes, size_t *count, int *tracked, fg_error *err)
{
    fg_face face;
    fg_face_mesh mesh;
    int rc;

    *faces = NULL;
    *meshes = NULL;
    *count = 0;
    if (tracked) *tracked = 0;
    if ((rc = fg_detect_mesh(e, img, faces, meshes, count, err))) return rc;
    if (*count > 0 || !prev) return FG_OK;
    mesh = *prev;
    rc = fg_track_mesh(e, img, &mesh, &face, err);
    if (rc == FG_ENOFACE) return FG_OK;
    if (rc) return rc;
    free(*faces);
    free(*meshes);
    *faces = malloc(sizeof face);
    *meshes = malloc(sizeof mesh);
    if (!*faces || !*meshes) {
        free(*faces);
        free(*meshes);
        *faces = NULL, *meshes = NULL;
        return fg_fail(err, FG_ENOMEM, "out of memory for a followed face");
    }
    **faces = face;
    **meshes = mesh;
    *count = 1;
    if (tracked) *tracked = 1;
    return FG_OK;
}
