/* The set gc and verify use to remember chunks: everything added is
 * found with its tag, nothing else is, however large it grows. */
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "repo/digest_set.h"
#include "test.h"

#define N 100000

int
main (void)
{
  struct digest_set s;
  struct digest *in = malloc (N * sizeof *in), zero = { { 0 } };
  size_t absent_found = 0;

  CHECK (in != NULL, "malloc");
  digest_set_init (&s);
  CHECK (digest_set_get (&s, &in[0]) == 0, "empty set finds something");

  for (size_t i = 0; i < N; i++) {
    test_fill_random (in[i].b, DIGEST_LEN);
    CHECK (digest_set_add (&s, &in[i], 1 + i % 255) == 0, "add %zu: %s", i,
           get_error ());
  }
  /* Digests that differ only after the first 8 bytes (the hash) must be
   * told apart. */
  for (size_t i = 0; i < 1000; i++) {
    struct digest d = in[i];
    d.b[DIGEST_LEN - 1] ^= 0x80;
    CHECK (digest_set_get (&s, &d) == 0, "near-twin of %zu found", i);
  }
  CHECK (s.len == N, "set holds %zu, want %d", s.len, N);
  for (size_t i = 0; i < N; i++) {
    unsigned char t = digest_set_get (&s, &in[i]);
    CHECK (t == 1 + i % 255, "digest %zu: tag %u, want %zu", i, t,
           1 + i % 255);
  }
  for (size_t i = 0; i < N; i++) {
    struct digest d;
    test_fill_random (d.b, DIGEST_LEN);
    absent_found += digest_set_get (&s, &d) != 0;
  }
  CHECK (absent_found == 0, "%zu absent digests found", absent_found);

  /* Adding again updates the tag without a duplicate. */
  CHECK (digest_set_add (&s, &in[7], 200) == 0, "re-add");
  CHECK (digest_set_get (&s, &in[7]) == 200, "tag not updated");
  CHECK (s.len == N, "re-add changed the size to %zu", s.len);

  /* The zero digest (a hole) is never stored. */
  CHECK (digest_set_add (&s, &zero, 1) == 0, "add zero");
  CHECK (digest_set_get (&s, &zero) == 0, "zero digest found");
  CHECK (s.len == N, "zero digest counted");

  digest_set_free (&s);
  CHECK (s.len == 0 && s.cap == 0 && s.slots == NULL, "free left state");
  CHECK (digest_set_get (&s, &in[0]) == 0, "freed set finds something");

  /* A set with values (verify keeps each chunk's length): every value
   * survives the set growing, and re-adding updates it. */
  digest_set_init_values (&s);
  for (size_t i = 0; i < N; i++)
    CHECK (digest_set_add_value (&s, &in[i], 1, (uint32_t) i * 3) == 0,
           "add value %zu", i);
  CHECK (digest_set_add_value (&s, &in[9], 2, 65536) == 0, "re-add value");
  for (size_t i = 0; i < N; i++) {
    uint32_t v;
    unsigned char t = digest_set_get_value (&s, &in[i], &v);
    uint32_t want = i == 9 ? 65536 : (uint32_t) i * 3;
    CHECK (t == (i == 9 ? 2 : 1) && v == want, "digest %zu: %u/%u", i, t, v);
  }
  digest_set_free (&s);
  free (in);
  return 0;
}
