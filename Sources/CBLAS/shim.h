#include <cblas.h>

// OpenBLAS extensions (exported by every OpenBLAS build with DYNAMIC_ARCH, e.g. Debian's).
// Declared here because <cblas.h> does not declare all of them.
char *openblas_get_corename(void);
int openblas_get_num_threads(void);
void openblas_set_num_threads(int num_threads);
void gotoblas_dynamic_init(void);
void gotoblas_dynamic_quit(void);
