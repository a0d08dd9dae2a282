/* Growth policy for vector.h: doubling, overflow-checked. */
#include <errno.h>
#include <stdlib.h>

#include "vector.h"

int
generic_vector_reserve (void **ptr, size_t *cap, size_t n, size_t itemsize)
{
  size_t newcap, bytes;
  void *p;

  if (n <= *cap)
    return 0;
  newcap = *cap ? *cap : 8;
  while (newcap < n) {
    if (__builtin_mul_overflow (newcap, 2, &newcap)) {
      errno = ENOMEM;
      return -1;
    }
  }
  if (__builtin_mul_overflow (newcap, itemsize, &bytes)) {
    errno = ENOMEM;
    return -1;
  }
  p = realloc (*ptr, bytes);
  if (p == NULL)
    return -1;
  *ptr = p;
  *cap = newcap;
  return 0;
}
