#!/usr/bin/env bash
# Memory stays bounded whatever the disk size: a 1 GiB-of-data image and
# a 4 TiB mostly empty one both back up in under 100 MiB RSS (more under ASan: rss_bound), and the
# holes of the large one cost nothing.
source "$(dirname "$0")/functions.sh"
requires qemu-nbd
[ -x /usr/bin/time ] || { echo "SKIP: /usr/bin/time (package time) missing"; exit 77; }

bound=$(rss_bound 102400)
cd "$scratch"
vmb init >/dev/null
truncate -s 2G data.img
put_random data.img 0 1024
truncate -s 4T huge.img
put_random huge.img 1000000 16

for img in data huge; do
  /usr/bin/time -f '%M' -o "$img.rss" "$VMBACKUP" backup --image "$img=$img.img" > "$img.log"
  rss=$(tail -1 "$img.rss")
  echo "$img: max RSS $rss KiB; $(cat "$img.log")"
  [ "$rss" -lt "$bound" ] || fail "$img: max RSS $rss KiB is over $bound KiB"
done
grep -q "4.0 TiB, 16.0 MiB read" huge.log || fail "holes were read: $(cat huge.log)"

/usr/bin/time -f '%M' -o restore.rss "$VMBACKUP" restore data --to data.out >/dev/null
rss=$(tail -1 restore.rss)
echo "restore: max RSS $rss KiB"
[ "$rss" -lt "$bound" ] || fail "restore: max RSS $rss KiB is over $bound KiB"
cmp data.img data.out || fail "restore differs"
echo OK
