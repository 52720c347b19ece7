/*
 * The video reader gives every frame of a clip as RGB8 with its presentation time: a clip made
 * here with the ffmpeg command (2 s of a solid colour at 15 fps, H.264 in MP4 and MPEG-4 in
 * AVI) comes out as 30 frames at k / 15 s, of the right size and colour; a liveness dev clip
 * (when ../shared/liveness is there) has the frame count and size clips.csv gives. Broken input
 * (no file, not a video, a file cut in half, frames over the pixel limit) is an error or an
 * early end, never a crash. Skips (77) when the ffmpeg command is missing.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "video/video.h"

static char dir[] = "/tmp/fg-video-XXXXXX";

static const char *in_dir(const char *name)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

/* Reads every frame; returns the count; *last gets the last timestamp. Checks the timestamps
 * rise by 1 / fps and the colour, when expect_rgb is given. */
static int read_all(const char *path, double fps, const int *expect_rgb, int w, int h, double *last)
{
    fgv_reader *r = NULL;
    fg_image frame;
    fg_error err = {0};
    double t = 0, seen = 0;
    int n = 0, rc;
    CHECKF(fgv_open(path, 0, &r, &err) == FG_OK, "%s: %s", path, err.message);
    if (!r) return -1;
    CHECK_EQ_INT(fgv_width(r), w);
    CHECK_EQ_INT(fgv_height(r), h);
    CHECK_NEAR(fgv_fps(r), fps, 1e-6);
    while ((rc = fgv_next(r, &frame, &t, &err)) == FG_OK) {
        CHECK(frame.width == w && frame.height == h && frame.rgb != NULL);
        CHECKF(fabs(t - n / fps) < 1e-3, "%s frame %d at %.4f s, expected %.4f", path, n, t,
               n / fps);
        if (expect_rgb && frame.rgb) {
            const uint8_t *p = frame.rgb + ((size_t)(h / 2) * w + w / 2) * 3;
            for (int c = 0; c < 3; c++)
                CHECKF(abs(p[c] - expect_rgb[c]) <= 6, "%s frame %d channel %d = %d, want %d", path,
                       n, c, p[c], expect_rgb[c]);
        }
        seen = t;
        n++;
    }
    CHECKF(rc == FGV_END, "%s: %s", path, err.message);
    *last = seen;
    fgv_close(r);
    return n;
}

static int make_clip(const char *name, const char *codec)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "ffmpeg -v error -y -f lavfi -i color=c=0x3c78b4:s=96x64:r=15:d=2 -pix_fmt yuv420p "
             "-c:v %s %s",
             codec, in_dir(name));
    return system(cmd) == 0;
}

static void test_made_clips(void)
{
    static const int colour[3] = {0x3c, 0x78, 0xb4};
    double last = 0;
    CHECK(make_clip("clip.mp4", "libx264"));
    CHECK(make_clip("clip.avi", "mpeg4"));
    CHECK_EQ_INT(read_all(in_dir("clip.mp4"), 15, colour, 96, 64, &last), 30);
    CHECK_NEAR(last, 29 / 15.0, 1e-3);
    CHECK_EQ_INT(read_all(in_dir("clip.avi"), 15, colour, 96, 64, &last), 30);
}

static void test_broken(void)
{
    fgv_reader *r = NULL;
    fg_image frame;
    fg_error err = {0};
    double t;
    size_t size = 0;
    char *bytes;
    FILE *f;

    CHECK_EQ_INT(fgv_open(in_dir("missing.mp4"), 0, &r, &err), FG_EIO);
    CHECK(r == NULL);

    f = fopen(in_dir("text.mp4"), "w");
    if (f) fputs("this is not a video\n", f), fclose(f);
    int rc = fgv_open(in_dir("text.mp4"), 0, &r, &err);
    CHECKF(rc == FG_EIO || rc == FG_EIMAGE_FORMAT, "not a video: %d %s", rc, err.message);
    CHECK(r == NULL);

    /* The first half of the MP4: open or not, never more frames than it holds, no crash. */
    bytes = fg_test_read(in_dir("clip.mp4"), &size);
    f = fopen(in_dir("half.mp4"), "wb");
    if (f && bytes) fwrite(bytes, 1, size / 2, f);
    if (f) fclose(f);
    free(bytes);
    if (fgv_open(in_dir("half.mp4"), 0, &r, &err) == FG_OK) {
        int n = 0;
        while ((rc = fgv_next(r, &frame, &t, &err)) == FG_OK)
            n++;
        CHECKF(rc == FGV_END || rc == FG_EIMAGE_CORRUPT, "cut clip: %d", rc);
        CHECKF(n < 30, "a cut clip gave %d frames", n);
        fgv_close(r);
    }

    /* 96x64 = 6144 pixels over a 6000-pixel limit: refused at open. */
    CHECK_EQ_INT(fgv_open(in_dir("clip.mp4"), 6000, &r, &err), FG_EIMAGE_TOO_LARGE);
    fgv_close(NULL);
}

/* A liveness dev clip read at run time (never copied): 15 fps, 512x512, 3.13 s. */
static void test_shared_clip(void)
{
    const char *clip = fg_test_shared("liveness/dev_liveportrait_d0.mp4");
    double last = 0;
    if (access(clip, R_OK) != 0) {
        printf("no %s: the shared clip check is left out\n", clip);
        return;
    }
    int n = read_all(clip, 15, NULL, 512, 512, &last);
    CHECKF(n >= 46 && n <= 48, "%d frames, clips.csv says 3.13 s at 15 fps", n);
}

int main(void)
{
    if (system("ffmpeg -version >/dev/null 2>&1") != 0)
        return fg_test_skip("no ffmpeg command to make the test clips");
    if (!mkdtemp(dir)) {
        CHECK(0);
        return fg_test_done();
    }
    test_made_clips();
    test_broken();
    test_shared_clip();
    static const char *const files[] = {"clip.mp4", "clip.avi", "text.mp4", "half.mp4"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        unlink(in_dir(files[i]));
    rmdir(dir);
    return fg_test_done();
}
