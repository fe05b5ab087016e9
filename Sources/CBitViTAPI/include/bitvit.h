/* bitvit.h: the C interface of BitViT's runtime (the BitViTC library, libBitViTC).
 *
 * Loads a .bitvit model (from a file or from memory) and runs it on batches of preprocessed
 * images: float32 values in [batch, channels, height, width] order, each image resized to the
 * model's side and normalized per channel as x = (pixel / 255 − mean[c]) / std[c]
 * (bitvit_model_normalization gives mean and std). Writes logits [batch, classes] row-major.
 *
 * Conventions
 * - Functions that can fail return a bitvit_status. On failure, bitvit_last_error() returns a
 *   message naming what was wrong, kept per thread until that thread's next failing call.
 * - A bitvit_model is an opaque handle that bitvit_model_load* creates and bitvit_model_free
 *   releases. Strings it returns stay valid until the model is freed.
 * - A model may be used from several threads; calls on one model run one at a time.
 * - Nothing here allocates memory the caller has to free, other than the model itself.
 *
 * Stability: within a major version (BITVIT_API_VERSION_MAJOR) functions are only added, never
 * changed or removed, and status codes keep their values. Compare bitvit_api_version() with
 * BITVIT_API_VERSION at startup to detect a library older than the header.
 */
#ifndef BITVIT_H
#define BITVIT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BITVIT_API_VERSION_MAJOR 1
#define BITVIT_API_VERSION_MINOR 0
/* major · 1000 + minor */
#define BITVIT_API_VERSION (BITVIT_API_VERSION_MAJOR * 1000 + BITVIT_API_VERSION_MINOR)

typedef enum bitvit_status {
    BITVIT_OK = 0,
    /* A NULL pointer, a zero batch, an output buffer too small, a thread count out of range. */
    BITVIT_ERROR_INVALID_ARGUMENT = 1,
    /* The file cannot be opened, read or mapped. */
    BITVIT_ERROR_IO = 2,
    /* The bytes are not a valid .bitvit model (the message names the field and the problem). */
    BITVIT_ERROR_INVALID_MODEL = 3
} bitvit_status;

/* A loaded model. */
typedef struct bitvit_model bitvit_model;

/* BITVIT_API_VERSION of the library that runs (the header may be newer or older). */
uint32_t bitvit_api_version(void);

/* A constant name for `status` ("ok", "invalid argument", ...). */
const char *bitvit_status_string(bitvit_status status);

/* The message of this thread's last failing call ("" before the first); never NULL. */
const char *bitvit_last_error(void);

/* Loads (memory-maps and validates) the .bitvit file at `path` into *model. */
bitvit_status bitvit_model_load(const char *path, bitvit_model **model);

/* Loads a .bitvit file from `size` bytes at `data` into *model; the bytes are copied, so the
 * caller may release them when the call returns. */
bitvit_status bitvit_model_load_memory(const void *data, size_t size, bitvit_model **model);

/* Releases the model and everything it returned (NULL is ignored). */
void bitvit_model_free(bitvit_model *model);

/* Input channels of one image (0 when model is NULL). */
size_t bitvit_model_channels(const bitvit_model *model);

/* Height and width of one image, in pixels (0 when model is NULL). */
size_t bitvit_model_image_size(const bitvit_model *model);

/* Number of classes: logits per image (0 when model is NULL). */
size_t bitvit_model_classes(const bitvit_model *model);

/* The name of class `label` (0 ≤ label < classes), UTF-8; NULL when out of range. */
const char *bitvit_model_class_name(const bitvit_model *model, size_t label);

/* The model family: "deit", "w1a1", "gsb", "qvit" or "bhvit". GSB models compute attention
 * masks over the whole batch, so an image's logits depend on the rest of its batch. */
const char *bitvit_model_family(const bitvit_model *model);

/* Writes the per-channel normalization of the model's input, `channels` floats to each of
 * `mean` and `std`. */
bitvit_status bitvit_model_normalization(const bitvit_model *model, float *mean, float *std);

/* Runs the model's calls on `threads` threads (the calling one included), 1…1024; 0 restores
 * the default: all cores, or the BITVIT_NUM_THREADS environment variable. */
bitvit_status bitvit_model_set_threads(bitvit_model *model, int threads);

/* Runs the model on `batch` ≥ 1 preprocessed images (`batch · channels · image_size²` floats
 * at `images`) and writes `batch · classes` logits to `logits`, which holds `logits_capacity`
 * floats. */
bitvit_status bitvit_model_logits(bitvit_model *model, const float *images, size_t batch,
                                  float *logits, size_t logits_capacity);

#ifdef __cplusplus
}
#endif
#endif
