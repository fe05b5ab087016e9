// The parts of bitvit.h that are constants: the version the library was built with and the
// status names. Everything else is implemented in Swift (Sources/BitViTC).
#include "bitvit.h"

uint32_t bitvit_api_version(void) { return BITVIT_API_VERSION; }

const char *bitvit_status_string(bitvit_status status) {
    switch (status) {
    case BITVIT_OK: return "ok";
    case BITVIT_ERROR_INVALID_ARGUMENT: return "invalid argument";
    case BITVIT_ERROR_IO: return "I/O error";
    case BITVIT_ERROR_INVALID_MODEL: return "invalid model";
    }
    return "unknown status";
}
