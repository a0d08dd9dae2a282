#!/usr/bin/env bash
# A job file is parsed strictly: each mistake is one line naming the
# file, the line and the key, exit status 1, and nothing is backed up.
# An unknown job, or a name that is no job name, is one line too.
source "$(dirname "$0")/functions.sh"

cd "$scratch"
vmb init >/dev/null
export VMBACKUP_JOBS_DIR="$scratch/jobs" VMBACKUP_JOBS_STATE_DIR="$scratch/state"
mkdir jobs
good="repository = $VMBACKUP_REPO
image = d=$scratch/d.img"

# check NAME PATTERN: job NAME (jobs/NAME.conf, written before) fails
# with exactly one line matching PATTERN, in show and in run.
check ()
{
  local name=$1 pattern=$2 cmd
  for cmd in show run; do
    expect_fail 1 "^vmbackup: $pattern$" vmb job $cmd "$name"
    [ "$(wc -l < "$scratch/err")" = 1 ] \
      || fail "$name: job $cmd: more than one line: $(cat "$scratch/err")"
  done
}

# job NAME LINE...: a job file of the good lines and then these.
job ()
{
  local name=$1; shift
  { echo "$good"; printf '%s\n' "$@"; } > "jobs/$name.conf"
}

f="$scratch/jobs"
job unknown "# comment" "" "keep-dialy = 3"
check unknown "$f/unknown.conf:5: keep-dialy: unknown key \(docs: man vmbackup-jobs\)"
job noeq "keep-daily 3"
check noeq "$f/noeq.conf:3: syntax: 'keep-daily 3' is not KEY = VALUE"
job count "keep-daily = three"
check count "$f/count.conf:3: keep-daily: bad value 'three' \(a whole number from 0 to 1000000\)"
job negative "keep-last = -1"
check negative "$f/negative.conf:3: keep-last: bad value '-1' .*"
job twice "keep-last = 1" "keep-last = 2"
check twice "$f/twice.conf:4: keep-last: given twice \(first on line 3\)"
job empty "notify ="
check empty "$f/empty.conf:3: notify: no value"
job consistency "consistency = sometimes"
check consistency "$f/consistency.conf:3: consistency: bad value 'sometimes' \(auto, application, crash or offline\)"
job verify "verify = weekly"
check verify "$f/verify.conf:3: verify: bad value 'weekly' \(never, always, or an interval such as 12h, 1d, 2w\)"
job conc "concurrency = 0"
check conc "$f/conc.conf:3: concurrency: bad value '0' \(a whole number from 1 to 64\)"
job img "image = d2"
check img "$f/img.conf:3: image: 'd2' is not NAME=PATH"
job relative "image = d2=d.img"
check relative "$f/relative.conf:3: image: 'd.img' is not an absolute path"
job dup "image = d=$scratch/other.img"
check dup "$f/dup.conf:3: image: 'd' named twice"
job badname "files = a/b=/etc"
check badname "$f/badname.conf:3: files: bad name 'a/b' .*"
job keys "key-file = $scratch/k" "password-file = $scratch/p"
check keys "$f/keys.conf:4: password-file: give one of key-file and password-file"
job prom "prometheus-file = relative.prom"
check prom "$f/prom.conf:3: prometheus-file: 'relative.prom' is not an absolute path \(or none\)"
printf 'image = d=%s/d.img\n' "$scratch" > jobs/norepo.conf
check norepo "$f/norepo.conf: repository: missing"
printf 'repository = %s\n' "$VMBACKUP_REPO" > jobs/nothing.conf
check nothing "$f/nothing.conf: nothing to back up \(give vm, image, files or host\)"
job excl "exclude = web"
check excl "$f/excl.conf: exclude: only with vm = all"
printf 'repository = /r\0\n' > jobs/nul.conf
check nul "$f/nul.conf: not a text file \(NUL byte\)"

check missing "no job 'missing' \($f/missing.conf does not exist\)"
check ../etc "bad job name '../etc' \(letters, digits, '.', '_', '-'; at most 64\)"
expect_fail 2 "job run needs a job NAME" vmb job run

# job list names each broken file and still lists the good ones.
job fine
rc=0; vmb job list > list.out 2> list.err || rc=$?
[ $rc = 1 ] || fail "job list with broken files: exit $rc"
grep -qE "^fine +$VMBACKUP_REPO: image d$" list.out || fail "job list: $(cat list.out)"
grep -q "^vmbackup: $f/unknown.conf:5: keep-dialy: unknown key" list.err \
  || fail "job list errors: $(cat list.err)"

# Nothing was backed up, and no run left a summary.
[ -z "$(vmb list | tail -n +2)" ] || fail "a malformed job backed up"
[ ! -e state ] || [ -z "$(ls state | grep -v '\.lock$')" ] || fail "summaries written: $(ls state)"
