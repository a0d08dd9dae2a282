/* The program of every layer check (src/meson.build): linked with the
 * whole of one layer's library and only what that layer may use, it
 * fails to link if the layer calls anything else. */
int main (void);

int
main (void)
{
  return 0;
}
