/* Typed growable arrays (libnbd's common/utils/vector.h idiom).
 *   DEFINE_VECTOR_TYPE (string_vector, char *);
 *   string_vector v = empty_vector;
 *   if (string_vector_append (&v, s) == -1) ...
 */
#ifndef VMB_VECTOR_H
#define VMB_VECTOR_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define empty_vector                \
  {                                 \
    .ptr = NULL, .len = 0, .cap = 0 \
  }

int generic_vector_reserve (void **ptr, size_t *cap, size_t n,
                            size_t itemsize);

#define DEFINE_VECTOR_TYPE(name, type)                                     \
  typedef struct {                                                         \
    type *ptr;                                                             \
    size_t len;                                                            \
    size_t cap;                                                            \
  } name;                                                                  \
  static inline int __attribute__ ((unused))                               \
  name##_reserve (name *v, size_t n)                                       \
  {                                                                        \
    return generic_vector_reserve ((void **) &v->ptr, &v->cap, v->len + n, \
                                   sizeof (type));                         \
  }                                                                        \
  static inline int __attribute__ ((unused))                               \
  name##_append (name *v, type elem)                                       \
  {                                                                        \
    if (v->len >= v->cap && name##_reserve (v, 1) == -1)                   \
      return -1;                                                           \
    v->ptr[v->len++] = elem;                                               \
    return 0;                                                              \
  }                                                                        \
  static inline void __attribute__ ((unused)) name##_reset (name *v)       \
  {                                                                        \
    free (v->ptr);                                                         \
    v->ptr = NULL;                                                         \
    v->len = v->cap = 0;                                                   \
  }

#endif
