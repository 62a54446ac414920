#!/usr/bin/env bash
# Regenerates the committed seed corpora in fuzz/seeds/ (run from anywhere).
# words/: the first byte is the block size, the rest a word list.
# weights/: small models saved by `makemore train`; weights_header/: their JSON headers.
set -euo pipefail
cd "$(dirname "$0")/.."
s=fuzz/seeds
rm -rf "$s" && mkdir -p "$s/words" "$s/weights" "$s/weights_header"
printf '\003emma\nolivia\nava\nisabella\nsophia\n' >"$s/words/names"
printf '\010\357\273\277Zoë\r\nJosé\r\n  Ñuño \r\n\r\nАнна\nИван\n王芳\n李娜\n' >"$s/words/unicode-bom-crlf"
printf '\001a\nb\n' >"$s/words/two-letters"
printf '\000emma\nava\n' >"$s/words/block-0"
printf '\003\377\376e\000m\000' >"$s/words/utf16"
printf '\003emma\nann.a\n\177ELF\n' >"$s/words/dot-and-control"
cargo build --release --quiet --bin makemore
for opts in "adam-direct --optimizer adam --lr 0.01 --direct" "sgd"; do
    set -- $opts
    name=$1
    shift
    target/release/makemore train --block 3 --emb 2 --hidden 4 --steps 20 --eval-every 0 --samples 0 --json \
        "$@" --save "$s/weights/$name.safetensors" >/dev/null
    len=$(od -An -t u8 -N8 "$s/weights/$name.safetensors" | tr -d ' ')
    tail -c +9 "$s/weights/$name.safetensors" | head -c "$len" >"$s/weights_header/$name.json"
done
