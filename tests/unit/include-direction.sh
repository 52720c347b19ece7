#!/bin/sh
# Dependencies point one way (docs/ARCHITECTURE.md): each folder under src/ includes only the
# folders listed for it here. Usage: include-direction.sh SOURCE_DIR
set -eu
src=$1/src
allowed() {
    case $1 in
    core) echo "" ;;
    image | nn | store | match) echo "core" ;;
    video) echo "core image" ;;
    models) echo "core image nn" ;;
    face) echo "core image nn models" ;;
    liveness) echo "core image nn models face match" ;;
    eval) echo "core image nn models face match liveness video" ;;
    server) echo "core image nn models face match store liveness" ;;
    cli) echo "core image nn models face match store liveness server eval video" ;;
    *) echo "UNKNOWN" ;;
    esac
}
bad=0
for dir in "$src"/*/; do
    mod=$(basename "$dir")
    ok=$(allowed "$mod")
    if [ "$ok" = UNKNOWN ]; then
        echo "src/$mod: a folder docs/ARCHITECTURE.md and this script do not know"
        bad=1
        continue
    fi
    for inc in $(grep -ho '#include "[a-z_]*/' "$dir"*.[ch] 2>/dev/null | sed 's/#include "//; s,/,,' | sort -u); do
        [ "$inc" = "$mod" ] && continue
        case " $ok " in
        *" $inc "*) ;;
        *)
            echo "src/$mod includes src/$inc:"
            grep -n "#include \"$inc/" "$dir"*.[ch] | sed 's/^/  /'
            bad=1
            ;;
        esac
    done
done
[ $bad -eq 0 ] && echo "every include follows the dependency direction"
exit $bad
