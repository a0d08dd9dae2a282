# Shared by every benchmark (source it after setting $work): reproducible
# test data, a cold page cache, and timing one command.
# shellcheck shell=bash

if [[ -x /usr/bin/time ]]; then have_gnu_time=1; else have_gnu_time=0; fi

# vmbackup encrypts new repositories by default, as restic always does;
# its key is a key file, made by the first init (a passphrase would add
# one scrypt run, about half a second, to every command).
# shellcheck disable=SC2154  # $work: set by the script that sources this
export VMBACKUP_KEY_FILE=$work/vmbackup.key

# Endless pseudo-random bytes, reproducible from a key number.
# AES-CTR of zeros runs at GB/s where /dev/urandom does not.
random_stream () {
  openssl enc -aes-128-ctr -nosalt -K "$(printf '%032x' "$1")" -iv 0 \
          -in /dev/zero 2>/dev/null
}

# The word list text_stream draws from (make_words writes it).
# shellcheck disable=SC2154  # $work: set by the script that sources this
WORDS=$work/words
make_words () {
  (
    set +o pipefail
    # shellcheck disable=SC2018  # ASCII letters on purpose
    random_stream 99 | head -c 200000 | base64 -w 0 | tr -c 'a-z' '\n' |
      awk 'length >= 3 && length <= 9' | head -n 4000 > "$WORDS"
  )
  [[ $(wc -l < "$WORDS") -ge 1000 ]] || die "word list too short"
}

# Endless log-like text that zstd -3 shrinks about 4x: recurring message
# templates and a Zipf-ish word choice, each line made unique by a short
# random token so nothing deduplicates.
text_stream () {
  random_stream "$1" | base64 -w 4 | awk -v seed="$1" '
    BEGIN { srand(seed); n = 0; t = 0 }
    NR == FNR { w[n++] = $0; next }
    FNR == 1 {
      for (m = 0; m < 64; m++) {
        s = w[int(rand() * n)]
        for (i = 0; i < 5; i++) s = s " " w[int(rand() * n)]
        tpl[m] = s
      }
    }
    {
      t += int(rand() * 3)
      line = sprintf("2024-03-01 %02d:%02d:%02d host%02d app[%d]: %s",
                     int(t / 3600) % 24, int(t / 60) % 60, t % 60,
                     int(rand() * 4), 1000 + int(rand() * 8),
                     tpl[int(rand() * rand() * 64)])
      k = 1 + int(rand() * 4)
      for (i = 0; i < k; i++) { r = rand(); line = line " " w[int(r * r * r * n)] }
      print line " id=" $0
    }' "$WORDS" -
}

# Every tool starts from a cold cache (as root; elsewhere this only syncs).
drop_caches () {
  sync
  { echo 3 > /proc/sys/vm/drop_caches; } 2>/dev/null || true
}

# time_into TIMEFILE LOG COMMAND...: run COMMAND with its output in LOG and
# "wall user sys" seconds (waited-for children included) as the last line
# of TIMEFILE; returns COMMAND's exit status.
time_into () {
  local tf=$1 log=$2 rc=0; shift 2
  if (( have_gnu_time )); then
    /usr/bin/time -f '%e %U %S' -o "$tf" "$@" > "$log" 2>&1 || rc=$?
  else
    local TIMEFORMAT='%R %U %S'
    { time "$@" > "$log" 2>&1 || rc=$?; } 2> "$tf"
  fi
  return $rc
}

# ratio A B: A/B with two decimals ("-" when B is 0).
ratio () { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

# ---- the 4 GiB test image (bench-image.sh, bench-s3.sh) --------------------
# make_image writes $img ($IMAGE_SIZE bytes, which must be 4 GiB: the
# offsets below assume it); change_image overwrites ~100 MiB of it.  Both
# need $img and a die function from the caller.

MiB=$((1 << 20))
GiB=$((1 << 30))
IMAGE_SIZE=$((4 * GiB))

# Copy exactly LEN bytes of stdin into the image at byte OFFSET.  dd
# stops the producer with SIGPIPE once it has its bytes, so the pipeline
# status is dd's alone (pipefail off in this subshell); the size check
# catches a producer that stopped early.
write_at () {
  local off=$1 len=$2 gen=$3 key=$4
  (
    set +o pipefail
    "$gen" "$key" |
      dd of="${img:?}" bs=1M iflag=fullblock,count_bytes count="$len" \
         oflag=seek_bytes seek="$off" conv=notrunc status=none
  )
  [[ $(stat -c %s "$img") -eq $IMAGE_SIZE ]] || die "image grew writing at $off"
}

make_image () {
  make_words

  truncate -s "$IMAGE_SIZE" "$img"
  # Random (1 GiB): three regions, 4 MiB-aligned.
  write_at $((16 * MiB))              $((256 * MiB)) random_stream 1
  write_at $((1280 * MiB))            $((512 * MiB)) random_stream 2
  write_at $((3584 * MiB))            $((256 * MiB)) random_stream 3
  # Text (0.5 GiB): two regions at unaligned offsets.
  write_at $((512 * MiB + 12345))     $((256 * MiB)) text_stream 11
  write_at $((2560 * MiB + 3 * 1024)) $((256 * MiB)) text_stream 12
  # Everything else stays a hole.
}

# ~100 MiB of new random data: one 4 MiB-aligned write, three unaligned
# ones (into random data, into text, into a former hole).
change_image () {
  write_at $((1344 * MiB))                    $((32 * MiB)) random_stream 21
  write_at $((612 * MiB + 777777))            $((24 * MiB)) random_stream 22
  write_at $((2048 * MiB + 5 * MiB + 12288))  $((20 * MiB)) random_stream 23
  write_at $((3600 * MiB + 12345))            $((24 * MiB)) random_stream 24
}
