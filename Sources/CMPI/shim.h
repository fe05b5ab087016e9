// Open MPI's C API. Its handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, …) and MPI_IN_PLACE are
// macros over addresses of library globals, which Swift cannot import; the inline functions
// below hand them over.
#include <mpi.h>

static inline MPI_Comm bv_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype bv_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype bv_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype bv_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Op bv_mpi_sum(void) { return MPI_SUM; }
static inline void *bv_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline MPI_Errhandler bv_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline MPI_Request bv_mpi_request_null(void) { return MPI_REQUEST_NULL; }
static inline MPI_Status *bv_mpi_status_ignore(void) { return MPI_STATUS_IGNORE; }
static inline MPI_Info bv_mpi_info_null(void) { return MPI_INFO_NULL; }
static inline int bv_mpi_max_error_string(void) { return MPI_MAX_ERROR_STRING; }
