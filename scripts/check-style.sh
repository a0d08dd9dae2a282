#!/usr/bin/env bash
# The style rules a machine can check, for CI and before a commit:
#   scripts/check-style.sh            every file (src/ for the C rules)
#   scripts/check-style.sh FILE...    only those files
# Each problem is one "file:line: reason" line; a summary per check
# follows.  Exit status 0 when every check passes, 1 when one fails, 2
# when clang-format is missing.
#
#   format     clang-format (.clang-format, clang-format 14) would change
#              nothing
#   editor     .editorconfig basics: no tab in C, no trailing whitespace,
#              a final newline
#   length     no .c or .h file over 1,000 lines (split it first)
#   print      only src/cli/ prints to stdout or stderr (STYLE.md: library
#              code returns errors); elsewhere a line that must print says
#              why with "/* may print: REASON */"
#   test-hook  getenv("VMBACKUP_TEST_...") only in src/common/test_hooks.c,
#              so test hooks are in one place and easy to audit
#   layering   <libvirt/...> only in src/virt/ and src/vm/, <libnbd.h> only
#              in src/nbd/, src/virt/, src/engine/ and src/vm/ (calls
#              across layers fail the build: see src/meson.build)
set -uo pipefail
cd "$(dirname "$0")/.."

MAX_LINES=1000
CLANG_FORMAT=${CLANG_FORMAT:-clang-format}

if [ $# -gt 0 ]; then
  files=("$@")
else
  mapfile -t files < <(git ls-files)
fi
# C sources under src/ get the C rules; every text file the editor rules.
c_files=()
text_files=()
for f in "${files[@]}"; do
  [ -f "$f" ] || continue
  case $f in
    src/*.c|src/*.h) c_files+=("$f") ;;
  esac
  # Fuzz corpora are data, made by scripts, not edited.
  case $f in tests/fuzz/corpus/*) continue ;; esac
  grep -Iq . "$f" 2>/dev/null && text_files+=("$f")
done

declare -A failures
fail () {                       # check file line reason...
  echo "$2:$3: ${*:4}"
  failures[$1]=$(( ${failures[$1]:-0} + 1 ))
}

# format: one line per file, at its first change, with how many there
# are.  One clang-format run for all files: one per file takes minutes.
check_format () {
  local f line n
  if ! command -v "$CLANG_FORMAT" >/dev/null; then
    echo "check-style: $CLANG_FORMAT not found (scripts/install-deps.sh" \
         "installs it)" >&2
    exit 2
  fi
  [ ${#c_files[@]} -eq 0 ] && return
  while read -r f line n; do
    fail format "$f" "$line" "not clang-formatted ($n places; run" \
      "clang-format -i $f)"
  done < <("$CLANG_FORMAT" --dry-run "${c_files[@]}" 2>&1 \
             | awk -F: '/^[^ ]+:[0-9]+:[0-9]+: warning: / { if (!($1 in n)) { first[$1] = $2;
                                          order[++k] = $1 } n[$1]++ }
                        END { for (i = 1; i <= k; i++)
                                print order[i], first[order[i]], n[order[i]] }')
}

# A pipe into "while" would count failures in a subshell: read from
# process substitutions instead.
check_editor () {
  local f line
  for f in "${text_files[@]}"; do
    case $f in
      *.c|*.h)
        while IFS=: read -r line _; do
          fail editor "$f" "$line" "tab (indent with spaces)"
        done < <(grep -n $'\t' "$f") ;;
    esac
    while IFS=: read -r line _; do
      fail editor "$f" "$line" "trailing whitespace"
    done < <(grep -n '[[:space:]]$' "$f")
    if [ -s "$f" ] && [ -n "$(tail -c 1 "$f")" ]; then
      fail editor "$f" "$(wc -l < "$f")" "no newline at the end of the file"
    fi
  done
}

check_length () {
  local f n
  for f in "${c_files[@]}"; do
    n=$(wc -l < "$f")
    [ "$n" -gt "$MAX_LINES" ] \
      && fail length "$f" "$n" "$n lines, over $MAX_LINES: split it"
  done
}

# grep -n over the C files, minus those under the given directories
# (prefixes of their paths).
grep_c_outside () {             # pattern dir...
  local pattern=$1; shift
  [ ${#c_files[@]} -eq 0 ] && return
  grep -HnE "$pattern" "${c_files[@]}" | awk -v skip="$*" '
    BEGIN { n = split (skip, dirs, " ") }
    { for (i = 1; i <= n; i++)
        if (index ($0, dirs[i]) == 1) next
      print }'
}

check_print () {
  local where line text
  # printf, puts, perror, putchar print; the f/v/d forms when they name
  # stdout, stderr or fd 1 or 2.
  local pattern='(^|[^[:alnum:]_])(v?printf|puts|perror|putchar)[[:space:]]*\(|(^|[^[:alnum:]_])(v?fprintf|fputs|fputc|fwrite|putc)[[:space:]]*\(.*(stdout|stderr)|(^|[^[:alnum:]_])v?dprintf[[:space:]]*\([[:space:]]*(STDOUT_FILENO|STDERR_FILENO|1|2)[[:space:]]*,'
  while IFS=: read -r where line text; do
    # The mark stands on the line or on the one before it.
    grep -q '/\* may print: [^*]' <<<"$text" && continue
    sed -n "$((line - 1))p" "$where" | grep -q '/\* may print: [^*]' && continue
    fail print "$where" "$line" "prints outside src/cli/ (return the error," \
      "or mark the line /* may print: REASON */)"
  done < <(grep_c_outside "$pattern" src/cli/)
}

check_test_hooks () {
  local where line text
  while IFS=: read -r where line text; do
    fail test-hook "$where" "$line" "getenv(\"VMBACKUP_TEST_...\") outside" \
      "src/common/test_hooks.c"
  done < <(grep_c_outside 'getenv[[:space:]]*\([[:space:]]*"VMBACKUP_TEST_' \
             src/common/test_hooks.c)
}

check_layering () {
  local where line text
  while IFS=: read -r where line text; do
    fail layering "$where" "$line" "libvirt outside src/virt/ and src/vm/"
  done < <(grep_c_outside '^[[:space:]]*#[[:space:]]*include[[:space:]]*<libvirt/' \
             src/virt/ src/vm/)
  while IFS=: read -r where line text; do
    fail layering "$where" "$line" "libnbd outside src/nbd/, src/virt/ (the" \
      "backup job's export), src/engine/ and src/vm/"
  done < <(grep_c_outside '^[[:space:]]*#[[:space:]]*include[[:space:]]*<libnbd\.h>' \
             src/nbd/ src/virt/ src/engine/ src/vm/)
}

checks=(format editor length print test-hook layering)
check_format
check_editor
check_length
check_print
check_test_hooks
check_layering

status=0
echo "check-style: ${#c_files[@]} C files, ${#text_files[@]} text files" >&2
for c in "${checks[@]}"; do
  n=${failures[$c]:-0}
  if [ "$n" -eq 0 ]; then
    echo "check-style: $c: ok" >&2
  else
    status=1
    case $c in
      format) echo "check-style: $c: $n of ${#c_files[@]} files not" \
                   "formatted" >&2 ;;
      *) echo "check-style: $c: $n problems" >&2 ;;
    esac
  fi
done
exit $status
