/* Sizes as users type them (--chunk-size 4M) and read them (list). */
#include <stdint.h>
#include <string.h>

#include "common/units.h"
#include "test.h"

static void
accepts (const char *s, uint64_t want)
{
  uint64_t v = 12345;

  CHECK (parse_size (s, &v) == 0, "parse_size (\"%s\") rejected", s);
  CHECK (v == want, "parse_size (\"%s\") = %llu, want %llu", s,
         (unsigned long long) v, (unsigned long long) want);
}

static void
rejects (const char *s)
{
  uint64_t v = 12345;

  CHECK (parse_size (s, &v) == -1, "parse_size (\"%s\") accepted (%llu)", s,
         (unsigned long long) v);
  CHECK (v == 12345, "parse_size (\"%s\") failed but wrote %llu", s,
         (unsigned long long) v);
}

static void
formats (uint64_t bytes, const char *want)
{
  char buf[32];

  CHECK (format_size (bytes, buf, sizeof buf) == buf,
         "format_size does not return its buffer");
  CHECK (strcmp (buf, want) == 0, "format_size (%llu) = \"%s\", want \"%s\"",
         (unsigned long long) bytes, buf, want);
}

int
main (void)
{
  char small[4];

  accepts ("4M", 4ULL << 20);
  accepts ("64KiB", 64ULL << 10);
  accepts ("1048576", 1048576);
  accepts ("0", 0);
  accepts ("512b", 512);
  accepts ("64k", 64ULL << 10);
  accepts ("64K", 64ULL << 10);
  accepts ("64kb", 64ULL << 10);
  accepts ("16MiB", 16ULL << 20);
  accepts ("2G", 2ULL << 30);
  accepts ("3gib", 3ULL << 30);
  accepts ("1T", 1ULL << 40);
  accepts ("16777215T", 16777215ULL << 40);     /* largest that fits */
  accepts ("18446744073709551615", UINT64_MAX);

  rejects ("");
  rejects ("x");
  rejects ("M");
  rejects ("4Q");
  rejects ("4MM");
  rejects ("4 M");
  rejects (" 4M");
  rejects ("4M ");
  rejects ("-4M");
  rejects ("+4M");
  rejects ("4.5M");
  rejects ("0x10");
  rejects ("99999999999T");
  rejects ("16777216T");                        /* 2^64: one too many */
  rejects ("18446744073709551616");

  formats (0, "0 B");
  formats (1, "1 B");
  formats (1023, "1023 B");
  formats (1024, "1.0 KiB");
  formats (1536, "1.5 KiB");
  formats (4ULL << 20, "4.0 MiB");
  formats (3ULL << 29, "1.5 GiB");
  formats (1ULL << 40, "1.0 TiB");
  formats (1ULL << 50, "1.0 PiB");
  formats (1ULL << 60, "1024.0 PiB");

  /* A short buffer truncates rather than overflows. */
  memset (small, 'x', sizeof small);
  format_size (1ULL << 30, small, sizeof small);
  CHECK (memchr (small, '\0', sizeof small) != NULL,
         "format_size into 4 bytes is not terminated");
  return 0;
}
