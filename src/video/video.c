/*
 * video.c - decoding a video file's frames to RGB8 with FFmpeg (see video.h).
 *
 * The classic send/receive loop: packets of the video stream go to the decoder; at the end of
 * the file a NULL packet drains the frames it still holds. Each decoded frame is converted to
 * RGB24 by libswscale into one buffer the reader owns, recreated only when the size changes.
 *
 * FFmpeg is loaded with dlopen when the first video is opened, not linked: its libraries (and
 * the codec libraries libavcodec pulls in) added 19 MB to the resident size of every process of
 * the facegate binary, the server and `facegate embed` included, which never read a video.
 * The sonames are the ones of the headers compiled against.
 */
#include "video/video.h"

#include <dlfcn.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "image/image.h"

/* Every FFmpeg function used here, with its library. */
#define FFMPEG_FUNCTIONS(X)                                                                        \
    X(AVUTIL, av_log_set_level)                                                                    \
    X(AVUTIL, av_frame_alloc)                                                                      \
    X(AVUTIL, av_frame_free)                                                                       \
    X(AVCODEC, av_packet_alloc)                                                                    \
    X(AVCODEC, av_packet_free)                                                                     \
    X(AVCODEC, av_packet_unref)                                                                    \
    X(AVCODEC, avcodec_alloc_context3)                                                             \
    X(AVCODEC, avcodec_free_context)                                                               \
    X(AVCODEC, avcodec_open2)                                                                      \
    X(AVCODEC, avcodec_parameters_to_context)                                                      \
    X(AVCODEC, avcodec_receive_frame)                                                              \
    X(AVCODEC, avcodec_send_packet)                                                                \
    X(AVFORMAT, av_find_best_stream)                                                               \
    X(AVFORMAT, av_read_frame)                                                                     \
    X(AVFORMAT, avformat_close_input)                                                              \
    X(AVFORMAT, avformat_find_stream_info)                                                         \
    X(AVFORMAT, avformat_open_input)                                                               \
    X(SWSCALE, sws_getCachedContext)                                                               \
    X(SWSCALE, sws_scale)                                                                          \
    X(SWSCALE, sws_freeContext)

enum { LIB_AVUTIL, LIB_AVCODEC, LIB_AVFORMAT, LIB_SWSCALE, LIBS };

#define FF_POINTER(lib, name) __typeof__(name) *name;
static struct {
    FFMPEG_FUNCTIONS(FF_POINTER)
} ff;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static int loaded;
static char load_error[200];

static void load(void)
{
    static const char *const sonames[LIBS] = {
        [LIB_AVUTIL] = "libavutil.so." AV_STRINGIFY(LIBAVUTIL_VERSION_MAJOR),
        [LIB_AVCODEC] = "libavcodec.so." AV_STRINGIFY(LIBAVCODEC_VERSION_MAJOR),
        [LIB_AVFORMAT] = "libavformat.so." AV_STRINGIFY(LIBAVFORMAT_VERSION_MAJOR),
        [LIB_SWSCALE] = "libswscale.so." AV_STRINGIFY(LIBSWSCALE_VERSION_MAJOR),
    };
    void *lib[LIBS], *sym;
    for (int i = 0; i < LIBS; i++)
        if (!(lib[i] = dlopen(sonames[i], RTLD_NOW | RTLD_LOCAL))) {
            snprintf(load_error, sizeof load_error, "cannot load FFmpeg's %s (%s)", sonames[i],
                     dlerror());
            return;
        }
#define FF_LOAD(library, name)                                                                     \
    if (!(sym = dlsym(lib[LIB_##library], #name))) {                                               \
        snprintf(load_error, sizeof load_error, "FFmpeg's %s has no %s", sonames[LIB_##library],   \
                 #name);                                                                           \
        return;                                                                                    \
    }                                                                                              \
    memcpy(&ff.name, &sym, sizeof sym);
    FFMPEG_FUNCTIONS(FF_LOAD)
    /* FFmpeg logs to stderr by default; errors come back through fg_error instead. */
    ff.av_log_set_level(AV_LOG_QUIET);
    loaded = 1; /* the libraries stay loaded for the process's life */
}

struct fgv_reader {
    AVFormatContext *format;
    AVCodecContext *codec;
    AVPacket *packet;
    AVFrame *frame;
    struct SwsContext *sws;
    int stream;
    int draining; /* the file is read to its end: only the decoder's last frames are left */
    uint64_t max_pixels;
    double time_base, start; /* seconds per timestamp unit; the stream's first timestamp */
    fg_image rgb;            /* the current frame, reused */
};

int fgv_open(const char *path, uint64_t max_pixels, fgv_reader **out, fg_error *err)
{
    fgv_reader *r;
    const AVCodec *decoder = NULL;
    AVStream *st;
    int rc;

    *out = NULL;
    if (!path) return fg_fail(err, FG_EINVAL, "no video file given");
    pthread_once(&load_once, load);
    if (!loaded) return fg_fail(err, FG_EIO, "%s", load_error);
    if (!(r = calloc(1, sizeof *r))) return fg_fail(err, FG_ENOMEM, "out of memory");
    r->max_pixels = max_pixels;
    if (ff.avformat_open_input(&r->format, path, NULL, NULL) < 0) {
        rc = fg_fail(err, FG_EIO, "cannot open video %s", path);
        goto fail;
    }
    if (ff.avformat_find_stream_info(r->format, NULL) < 0) {
        rc = fg_fail(err, FG_EIMAGE_FORMAT, "%s: cannot read its streams", path);
        goto fail;
    }
    r->stream = ff.av_find_best_stream(r->format, AVMEDIA_TYPE_VIDEO, -1, -1, &decoder, 0);
    if (r->stream < 0 || !decoder) {
        rc = fg_fail(err, FG_EIMAGE_FORMAT, "%s has no video stream facegate can decode", path);
        goto fail;
    }
    st = r->format->streams[r->stream];
    if ((rc = fgi_check_dims((uint64_t)st->codecpar->width, (uint64_t)st->codecpar->height,
                             max_pixels, err)))
        goto fail;
    r->codec = ff.avcodec_alloc_context3(decoder);
    r->packet = ff.av_packet_alloc();
    r->frame = ff.av_frame_alloc();
    if (!r->codec || !r->packet || !r->frame) {
        rc = fg_fail(err, FG_ENOMEM, "out of memory for the video decoder");
        goto fail;
    }
    /* One decoding thread: frames come out as soon as they are decoded, in order. */
    r->codec->thread_count = 1;
    if (ff.avcodec_parameters_to_context(r->codec, st->codecpar) < 0 ||
        ff.avcodec_open2(r->codec, decoder, NULL) < 0) {
        rc = fg_fail(err, FG_EIMAGE_FORMAT, "%s: cannot start the %s decoder", path, decoder->name);
        goto fail;
    }
    r->time_base = av_q2d(st->time_base);
    r->start = st->start_time != AV_NOPTS_VALUE ? (double)st->start_time * r->time_base : 0;
    *out = r;
    return FG_OK;
fail:
    fgv_close(r);
    return rc;
}

/* Converts r->frame to RGB8 in r->rgb (reallocated when the size changes). */
static int to_rgb(fgv_reader *r, fg_error *err)
{
    const AVFrame *f = r->frame;
    int rc;
    if ((rc = fgi_check_dims((uint64_t)f->width, (uint64_t)f->height, r->max_pixels, err)))
        return rc;
    if (r->rgb.width != f->width || r->rgb.height != f->height) {
        free(r->rgb.rgb);
        r->rgb.width = f->width;
        r->rgb.height = f->height;
        if (!(r->rgb.rgb = malloc((size_t)f->width * f->height * 3))) {
            memset(&r->rgb, 0, sizeof r->rgb);
            return fg_fail(err, FG_ENOMEM, "out of memory for a %dx%d frame", f->width, f->height);
        }
    }
    r->sws = ff.sws_getCachedContext(r->sws, f->width, f->height, (enum AVPixelFormat)f->format,
                                     f->width, f->height, AV_PIX_FMT_RGB24, SWS_BILINEAR, NULL,
                                     NULL, NULL);
    if (!r->sws) return fg_fail(err, FG_EIMAGE_CORRUPT, "cannot convert the frame to RGB");
    uint8_t *dst[4] = {r->rgb.rgb, NULL, NULL, NULL};
    int stride[4] = {f->width * 3, 0, 0, 0};
    if (ff.sws_scale(r->sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, dst,
                     stride) != f->height)
        return fg_fail(err, FG_EIMAGE_CORRUPT, "cannot convert the frame to RGB");
    return FG_OK;
}

int fgv_next(fgv_reader *r, fg_image *frame, double *seconds, fg_error *err)
{
    memset(frame, 0, sizeof *frame);
    *seconds = 0;
    for (;;) {
        int rc = ff.avcodec_receive_frame(r->codec, r->frame);
        if (rc == 0) {
            int64_t ts = r->frame->best_effort_timestamp;
            if ((rc = to_rgb(r, err))) return rc;
            *frame = r->rgb;
            *seconds = ts != AV_NOPTS_VALUE ? (double)ts * r->time_base - r->start : 0;
            return FG_OK;
        }
        if (rc == AVERROR_EOF) return FGV_END;
        if (rc != AVERROR(EAGAIN))
            return fg_fail(err, FG_EIMAGE_CORRUPT, "the video's frames do not decode");
        if (r->draining) return FGV_END;
        /* The decoder wants more data: the next packet of our stream, or the end. */
        rc = ff.av_read_frame(r->format, r->packet);
        if (rc < 0) {
            r->draining = 1;
            if (ff.avcodec_send_packet(r->codec, NULL) < 0) return FGV_END;
            continue;
        }
        /* A packet the decoder refuses (damaged data) is dropped, as players do: the frames
         * around it still come out, and a file that yields none ends at once. */
        if (r->packet->stream_index == r->stream) ff.avcodec_send_packet(r->codec, r->packet);
        ff.av_packet_unref(r->packet);
    }
}

double fgv_fps(const fgv_reader *r)
{
    AVRational q = r->format->streams[r->stream]->avg_frame_rate;
    return q.den ? av_q2d(q) : 0;
}

int fgv_width(const fgv_reader *r)
{
    return r->codec->width;
}

int fgv_height(const fgv_reader *r)
{
    return r->codec->height;
}

void fgv_close(fgv_reader *r)
{
    if (!r) return;
    ff.sws_freeContext(r->sws);
    ff.av_frame_free(&r->frame);
    ff.av_packet_free(&r->packet);
    ff.avcodec_free_context(&r->codec);
    ff.avformat_close_input(&r->format);
    free(r->rgb.rgb);
    free(r);
}
